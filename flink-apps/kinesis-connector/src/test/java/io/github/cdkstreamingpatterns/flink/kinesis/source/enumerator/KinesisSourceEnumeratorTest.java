package io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.source.event.ShardsFinishedEvent;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;
import org.apache.flink.util.FlinkRuntimeException;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.SequenceNumberRange;
import software.amazon.awssdk.services.kinesis.model.Shard;

class KinesisSourceEnumeratorTest {
    private static final String ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    /** Records assignments; readers register on demand. */
    static final class FakeContext implements SplitEnumeratorContext<KinesisShardSplit> {
        final int parallelism;
        final Map<Integer, ReaderInfo> readers = new HashMap<>();
        final Map<Integer, List<KinesisShardSplit>> assigned = new HashMap<>();

        FakeContext(int parallelism) {
            this.parallelism = parallelism;
        }

        void register(int subtask) {
            readers.put(subtask, new ReaderInfo(subtask, "localhost"));
        }

        List<String> shardsOf(int subtask) {
            return assigned.getOrDefault(subtask, List.of()).stream()
                    .map(KinesisShardSplit::shardId)
                    .collect(Collectors.toList());
        }

        List<KinesisShardSplit> all() {
            return assigned.values().stream().flatMap(List::stream).collect(Collectors.toList());
        }

        @Override
        public SplitEnumeratorMetricGroup metricGroup() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void sendEventToSourceReader(int subtaskId, SourceEvent event) {}

        @Override
        public int currentParallelism() {
            return parallelism;
        }

        @Override
        public Map<Integer, ReaderInfo> registeredReaders() {
            return readers;
        }

        @Override
        public void assignSplits(SplitsAssignment<KinesisShardSplit> newSplitAssignments) {
            newSplitAssignments
                    .assignment()
                    .forEach((k, v) ->
                            assigned.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
        }

        @Override
        public void signalNoMoreSplits(int subtask) {
            throw new AssertionError("an unbounded source must never signal no more splits");
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler) {}

        @Override
        public <T> void callAsync(
                Callable<T> callable, BiConsumer<T, Throwable> handler, long initialDelay, long period) {}

        @Override
        public void runInCoordinatorThread(Runnable runnable) {
            runnable.run();
        }
    }

    static Shard open(String id, String parent, String adjacent) {
        return Shard.builder()
                .shardId(id)
                .parentShardId(parent)
                .adjacentParentShardId(adjacent)
                .sequenceNumberRange(SequenceNumberRange.builder()
                        .startingSequenceNumber("1")
                        .build())
                .build();
    }

    static Shard closed(String id, String parent) {
        return Shard.builder()
                .shardId(id)
                .parentShardId(parent)
                .sequenceNumberRange(SequenceNumberRange.builder()
                        .startingSequenceNumber("1")
                        .endingSequenceNumber("9")
                        .build())
                .build();
    }

    static ShardLister unusedLister() {
        return new ShardLister() {
            @Override
            public List<Shard> listShards() {
                throw new AssertionError("listing is driven by the test");
            }

            @Override
            public void close() {}
        };
    }

    static KinesisSourceEnumerator enumerator(FakeContext ctx, InitialPosition position, KinesisEnumeratorState state) {
        return new KinesisSourceEnumerator(ctx, unusedLister(), ARN, position, 1234L, 1000L, state);
    }

    @Test
    void spreadsShardsOverAllSubtasksEvenIfOnlyOneHasRegistered() {
        FakeContext ctx = new FakeContext(2);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);
        ctx.register(0);
        e.addReader(0);

        e.onShardsListed(List.of(open("shard-0", null, null), open("shard-1", null, null)), null);
        assertThat(ctx.shardsOf(0)).containsExactly("shard-0");
        assertThat(ctx.shardsOf(1)).isEmpty();

        ctx.register(1);
        e.addReader(1);
        assertThat(ctx.shardsOf(1)).containsExactly("shard-1");
        assertThat(ctx.all()).allSatisfy(s -> assertThat(s.startPosition()).isEqualTo(InitialPosition.TRIM_HORIZON));
    }

    @Test
    void assignsChildOnlyAfterBothParentsOfAMergeAreFinished() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);

        e.onShardsListed(List.of(closed("p1", null), closed("p2", null), open("child", "p1", "p2")), null);
        assertThat(ctx.shardsOf(0)).containsExactly("p1", "p2");

        e.handleSourceEvent(0, new ShardsFinishedEvent(List.of("p1")));
        assertThat(ctx.shardsOf(0)).doesNotContain("child");

        e.handleSourceEvent(0, new ShardsFinishedEvent(List.of("p2")));
        assertThat(ctx.shardsOf(0)).containsExactly("p1", "p2", "child");
    }

    @Test
    void shardsDiscoveredAfterTheFirstListingStartAtTrimHorizonOnceTheirParentIsDone() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.LATEST, null);
        e.onShardsListed(List.of(open("p", null, null)), null);
        assertThat(ctx.all())
                .singleElement()
                .satisfies(s -> assertThat(s.startPosition()).isEqualTo(InitialPosition.LATEST));

        // The shard is split: the parent is closed and two children appear.
        e.onShardsListed(List.of(closed("p", null), open("c1", "p", null), open("c2", "p", null)), null);
        assertThat(ctx.shardsOf(0)).containsExactly("p");

        e.handleSourceEvent(0, new ShardsFinishedEvent(List.of("p")));
        assertThat(ctx.all()).extracting(KinesisShardSplit::shardId).containsExactly("p", "c1", "c2");
        assertThat(ctx.all().subList(1, 3))
                .allSatisfy(s -> assertThat(s.startPosition()).isEqualTo(InitialPosition.TRIM_HORIZON));
    }

    @Test
    void latestSkipsShardsThatAreAlreadyClosedAtStart() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.LATEST, null);
        e.onShardsListed(List.of(closed("old", null), open("new", "old", null)), null);
        assertThat(ctx.shardsOf(0)).containsExactly("new");
    }

    @Test
    void atTimestampAppliesTheTimestampToEveryShardOfTheFirstListing() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.AT_TIMESTAMP, null);
        e.onShardsListed(List.of(closed("old", null), open("new", "old", null)), null);
        e.handleSourceEvent(0, new ShardsFinishedEvent(List.of("old")));
        assertThat(ctx.all()).extracting(KinesisShardSplit::shardId).containsExactly("old", "new");
        assertThat(ctx.all()).allSatisfy(s -> {
            assertThat(s.startPosition()).isEqualTo(InitialPosition.AT_TIMESTAMP);
            assertThat(s.startTimestampMillis()).isEqualTo(1234L);
        });
    }

    @Test
    void childOfAnExpiredParentIsAssignedImmediately() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);
        e.onShardsListed(List.of(open("child", "gone-parent", null)), null);
        assertThat(ctx.shardsOf(0)).containsExactly("child");
    }

    @Test
    void splitsAddedBackAreReassignedWithTheirProgress() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);
        e.onShardsListed(List.of(open("s", null, null)), null);
        KinesisShardSplit progressed = ctx.all().get(0).withLastSequenceNumber("42");
        ctx.assigned.clear();

        e.addSplitsBack(List.of(progressed), 0);
        assertThat(ctx.all()).containsExactly(progressed);
    }

    @Test
    void snapshotAndRestoreKeepPendingAssignedAndFinishedShards() throws Exception {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);
        e.onShardsListed(List.of(closed("p", null), open("c", "p", null), open("other", null, null)), null);
        KinesisEnumeratorState state = e.snapshotState(1L);
        assertThat(state.assignedShards()).containsExactlyInAnyOrder("p", "other");
        assertThat(state.pendingSplits()).extracting(KinesisShardSplit::shardId).containsExactly("c");

        KinesisEnumeratorStateSerializer serializer = new KinesisEnumeratorStateSerializer();
        KinesisEnumeratorState restored = serializer.deserialize(serializer.getVersion(), serializer.serialize(state));
        assertThat(restored).isEqualTo(state);

        // After restore nothing already assigned is handed out twice; the child follows its parent.
        FakeContext ctx2 = new FakeContext(1);
        ctx2.register(0);
        KinesisSourceEnumerator e2 = enumerator(ctx2, InitialPosition.TRIM_HORIZON, restored);
        e2.onShardsListed(List.of(closed("p", null), open("c", "p", null), open("other", null, null)), null);
        assertThat(ctx2.all()).isEmpty();
        e2.handleSourceEvent(0, new ShardsFinishedEvent(List.of("p")));
        assertThat(ctx2.shardsOf(0)).containsExactly("c");
        assertThat(e2.snapshotState(2L).finishedShards()).isEqualTo(Set.of("p"));
    }

    @Test
    void missingStreamFailsWithTheStreamArn() {
        FakeContext ctx = new FakeContext(1);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);
        assertThatThrownBy(() -> e.onShardsListed(
                        null,
                        ResourceNotFoundException.builder()
                                .message("Stream s not found")
                                .build()))
                .isInstanceOf(FlinkRuntimeException.class)
                .hasMessageContaining(ARN)
                .hasMessageContaining("does not exist");
    }

    @Test
    void transientListingErrorsKeepTheEnumeratorRunning() {
        FakeContext ctx = new FakeContext(1);
        ctx.register(0);
        KinesisSourceEnumerator e = enumerator(ctx, InitialPosition.TRIM_HORIZON, null);
        e.onShardsListed(null, new RuntimeException("connection reset"));
        e.onShardsListed(List.of(open("s", null, null)), null);
        assertThat(ctx.shardsOf(0)).containsExactly("s");
    }
}
