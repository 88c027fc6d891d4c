package io.github.cdkstreamingpatterns.flink.kinesis.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.event.ShardsFinishedEvent;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplitSerializer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.metrics.groups.SourceReaderMetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.SimpleUserCodeClassLoader;
import org.apache.flink.util.UserCodeClassLoader;
import org.junit.jupiter.api.Test;

/**
 * The enumerator snapshots before the readers, so a shard end reported in between is in neither snapshot. The reader
 * must carry finished shards in its checkpoint and report them again after a restore, or the children of a reshard
 * are never assigned.
 */
class KinesisSourceReaderTest {

    @Test
    void aShardFinishedAfterTheEnumeratorSnapshotIsReportedAgainAfterRestore() throws Exception {
        Context context = new Context();
        FinishingSplitReader shards = new FinishingSplitReader();
        List<KinesisShardSplit> checkpoint;
        try (KinesisSourceReader reader = new KinesisSourceReader(() -> shards, context)) {
            reader.start();
            reader.addSplits(
                    List.of(new KinesisShardSplit("shardId-000000000000", InitialPosition.TRIM_HORIZON, 0L, null)));
            Output output = new Output();
            // The fake shard yields one record and then ends, as a parent shard does after a split or merge.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (context.events.isEmpty() && System.nanoTime() < deadline) {
                reader.pollNext(output);
                reader.isAvailable().get(100, TimeUnit.MILLISECONDS);
            }
            assertThat(output.sequenceNumbers).containsExactly("1");
            assertThat(context.events).containsExactly(new ShardsFinishedEvent(List.of("shardId-000000000000")));

            // WHEN the reader checkpoints (the enumerator's snapshot of this checkpoint may predate the event)
            checkpoint = reader.snapshotState(7L);
            assertThat(checkpoint).singleElement().satisfies(split -> {
                assertThat(split.shardId()).isEqualTo("shardId-000000000000");
                assertThat(split.isFinished()).isTrue();
                assertThat(split.lastSequenceNumber()).isEqualTo("1");
            });

            // The marker outlives the completion of its own checkpoint and goes with the next completed one.
            reader.notifyCheckpointComplete(7L);
            assertThat(reader.snapshotState(8L)).hasSize(1);
            reader.notifyCheckpointComplete(8L);
            assertThat(reader.snapshotState(9L)).isEmpty();
        }

        // THEN a reader restored from that checkpoint reports the end again and does not read the shard.
        Context restoredContext = new Context();
        FinishingSplitReader restoredShards = new FinishingSplitReader();
        byte[] bytes = new KinesisShardSplitSerializer().serialize(checkpoint.get(0));
        KinesisShardSplit restoredSplit =
                new KinesisShardSplitSerializer().deserialize(KinesisShardSplitSerializer.VERSION, bytes);
        try (KinesisSourceReader restored = new KinesisSourceReader(() -> restoredShards, restoredContext)) {
            restored.start();
            restored.addSplits(List.of(restoredSplit));
            assertThat(restoredContext.events)
                    .containsExactly(new ShardsFinishedEvent(List.of("shardId-000000000000")));
            assertThat(restoredShards.assigned).isEmpty();
            // Still in its checkpoints until a later checkpoint completes, in case the job fails again first.
            assertThat(restored.snapshotState(10L)).containsExactly(restoredSplit);
        }
    }

    /** Each assigned shard yields one record with sequence number "1" and then ends. */
    private static final class FinishingSplitReader implements SplitReader<KinesisRecord, KinesisShardSplit> {
        final List<String> assigned = new CopyOnWriteArrayList<>();
        private final Deque<String> toRead = new ArrayDeque<>();

        @Override
        public synchronized RecordsWithSplitIds<KinesisRecord> fetch() throws java.io.IOException {
            RecordsBySplits.Builder<KinesisRecord> out = new RecordsBySplits.Builder<>();
            String shard = toRead.poll();
            if (shard == null) {
                try {
                    wait(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return out.build();
            }
            out.add(shard, new KinesisRecord(new byte[] {1}, "pk", "1", 1L, shard));
            out.addFinishedSplit(shard);
            return out.build();
        }

        @Override
        public synchronized void handleSplitsChanges(SplitsChange<KinesisShardSplit> splitsChanges) {
            for (KinesisShardSplit split : splitsChanges.splits()) {
                assigned.add(split.shardId());
                toRead.add(split.shardId());
            }
        }

        @Override
        public synchronized void wakeUp() {
            notifyAll();
        }

        @Override
        public void pauseOrResumeSplits(Collection<KinesisShardSplit> pause, Collection<KinesisShardSplit> resume) {}

        @Override
        public void close() {}
    }

    static final class Context implements SourceReaderContext {
        final List<SourceEvent> events = new CopyOnWriteArrayList<>();

        @Override
        public SourceReaderMetricGroup metricGroup() {
            return UnregisteredMetricsGroup.createSourceReaderMetricGroup();
        }

        @Override
        public Configuration getConfiguration() {
            return new Configuration();
        }

        @Override
        public String getLocalHostName() {
            return "localhost";
        }

        @Override
        public int getIndexOfSubtask() {
            return 0;
        }

        @Override
        public void sendSplitRequest() {}

        @Override
        public void sendSourceEventToCoordinator(SourceEvent sourceEvent) {
            events.add(sourceEvent);
        }

        @Override
        public UserCodeClassLoader getUserCodeClassLoader() {
            return SimpleUserCodeClassLoader.create(getClass().getClassLoader());
        }
    }

    private static final class Output implements ReaderOutput<KinesisRecord> {
        final List<String> sequenceNumbers = new ArrayList<>();

        @Override
        public void collect(KinesisRecord record) {
            sequenceNumbers.add(record.sequenceNumber());
        }

        @Override
        public void collect(KinesisRecord record, long timestamp) {
            sequenceNumbers.add(record.sequenceNumber());
        }

        @Override
        public void emitWatermark(Watermark watermark) {}

        @Override
        public void markIdle() {}

        @Override
        public void markActive() {}

        @Override
        public SourceOutput<KinesisRecord> createOutputForSplit(String splitId) {
            return this;
        }

        @Override
        public void releaseOutputForSplit(String splitId) {}
    }
}
