package io.github.cdkstreamingpatterns.flink.kinesis.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.aggregation.KplTestEncoder;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.fanout.KinesisEfoSplitReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.polling.KinesisShardSplitReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplitSerializer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardRequest;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponse;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;

/**
 * Flink may checkpoint between any two records the source emits, so also between two user records of one KPL
 * aggregate. A checkpoint taken after every possible record, restored into a new reader, must yield each user record
 * exactly once: with only the aggregate's sequence number in the checkpoint the restore resumes after the aggregate
 * and loses its remaining user records.
 */
class AggregateCheckpointTest {
    private static final String SHARD_ID = "shardId-000000000000";
    // plain, aggregate of 4, plain, aggregate of 3 (explicit hash keys on some), aggregate of 1, plain
    private static final List<Record> SHARD = List.of(
            plain("100", "p0"),
            aggregate("200", "a0", "a1", "a2", "a3"),
            plain("300", "p1"),
            record(
                    "400",
                    KplTestEncoder.aggregate(List.of(
                            new KplTestEncoder.Entry("k-b0", "1234", bytes("b0")),
                            KplTestEncoder.Entry.of("k-b1", "b1"),
                            new KplTestEncoder.Entry("k-b2", "99", bytes("b2"))))),
            aggregate("500", "c0"),
            plain("600", "p2"));
    private static final List<String> EXPECTED = List.of(
            "100/0:p0",
            "200/0:a0",
            "200/1:a1",
            "200/2:a2",
            "200/3:a3",
            "300/0:p1",
            "400/0:b0",
            "400/1:b1",
            "400/2:b2",
            "500/0:c0",
            "600/0:p2");

    enum ReaderType {
        POLLING,
        EFO
    }

    static Stream<Arguments> checkpoints() {
        List<Arguments> cases = new ArrayList<>();
        for (ReaderType type : ReaderType.values()) {
            for (int k = 0; k <= EXPECTED.size(); k++) {
                cases.add(Arguments.of(type, k));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, checkpoint after {1} records")
    @MethodSource("checkpoints")
    void restoringACheckpointTakenAfterAnyRecordEmitsEveryUserRecordExactlyOnce(ReaderType type, int k)
            throws Exception {
        Output first = new Output();
        KinesisShardSplit checkpointed;
        try (KinesisSourceReader reader = reader(type)) {
            reader.start();
            reader.addSplits(List.of(new KinesisShardSplit(SHARD_ID, InitialPosition.TRIM_HORIZON, 0L, null)));
            pollUntil(reader, first, k);
            List<KinesisShardSplit> snapshot = reader.snapshotState(1L);
            assertThat(snapshot).hasSize(1);
            KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
            checkpointed = serializer.deserialize(serializer.getVersion(), serializer.serialize(snapshot.get(0)));
        }

        Output second = new Output();
        try (KinesisSourceReader restored = reader(type)) {
            restored.start();
            restored.addSplits(List.of(checkpointed));
            pollUntil(restored, second, EXPECTED.size() - k);
            // Nothing beyond the shard's records may follow (a repeat would arrive now).
            pollFor(restored, second, 200);
        }

        List<String> all = new ArrayList<>(first.ids);
        all.addAll(second.ids);
        assertThat(all).as("checkpoint %s", checkpointed).containsExactlyElementsOf(EXPECTED);
    }

    @Test
    void userRecordsCarryTheirOwnKeysAndTheAggregatesSequenceNumberAndArrivalTime() throws Exception {
        Output out = new Output();
        try (KinesisSourceReader reader = reader(ReaderType.POLLING)) {
            reader.start();
            reader.addSplits(List.of(new KinesisShardSplit(SHARD_ID, InitialPosition.TRIM_HORIZON, 0L, null)));
            pollUntil(reader, out, EXPECTED.size());
        }
        assertThat(out.records.get(6))
                .isEqualTo(new KinesisRecord(bytes("b0"), "k-b0", "1234", "400", 0L, 400_000L, SHARD_ID));
        assertThat(out.records.get(7))
                .isEqualTo(new KinesisRecord(bytes("b1"), "k-b1", null, "400", 1L, 400_000L, SHARD_ID));
        assertThat(out.timestamps.get(7)).isEqualTo(400_000L);
        assertThat(out.records.get(0)).isEqualTo(new KinesisRecord(bytes("p0"), "pk-100", "100", 100_000L, SHARD_ID));
    }

    private static KinesisSourceReader reader(ReaderType type) {
        KinesisSourceReaderTest.Context context = new KinesisSourceReaderTest.Context();
        if (type == ReaderType.POLLING) {
            return new KinesisSourceReader(
                    () -> new KinesisShardSplitReader(new PollingShard(), "arn", 1L, 2), context);
        }
        return new KinesisSourceReader(() -> new KinesisEfoSplitReader(new FanOutShard(), "consumer"), context);
    }

    private static void pollUntil(KinesisSourceReader reader, Output out, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (out.ids.size() < n) {
            assertThat(System.nanoTime())
                    .as("%s of %s records", out.ids.size(), n)
                    .isLessThan(deadline);
            // pollNext emits at most one record per call, so this stops exactly after the n-th.
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE) {
                waitAvailable(reader, 100);
            }
        }
    }

    private static void pollFor(KinesisSourceReader reader, Output out, long millis) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < end) {
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE) {
                waitAvailable(reader, 20);
            }
        }
    }

    private static void waitAvailable(KinesisSourceReader reader, long millis) throws Exception {
        try {
            reader.isAvailable().get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // nothing fetched yet
        }
    }

    private static int position(ShardIteratorType type, String sequenceNumber) {
        switch (type) {
            case TRIM_HORIZON:
                return 0;
            case LATEST:
                return SHARD.size();
            case AT_SEQUENCE_NUMBER:
                return indexOf(sequenceNumber);
            case AFTER_SEQUENCE_NUMBER:
                return indexOf(sequenceNumber) + 1;
            default:
                throw new IllegalArgumentException(type.toString());
        }
    }

    private static int indexOf(String sequenceNumber) {
        for (int i = 0; i < SHARD.size(); i++) {
            if (SHARD.get(i).sequenceNumber().equals(sequenceNumber)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no record " + sequenceNumber);
    }

    /** An open shard served two records per GetRecords call; iterators are record indexes. */
    private static final class PollingShard implements KinesisClient {
        @Override
        public GetShardIteratorResponse getShardIterator(GetShardIteratorRequest request) {
            int start = position(request.shardIteratorType(), request.startingSequenceNumber());
            return GetShardIteratorResponse.builder()
                    .shardIterator(String.valueOf(start))
                    .build();
        }

        @Override
        public GetRecordsResponse getRecords(GetRecordsRequest request) {
            int from = Integer.parseInt(request.shardIterator());
            int to = Math.min(SHARD.size(), from + Math.min(2, request.limit()));
            return GetRecordsResponse.builder()
                    .records(SHARD.subList(from, to))
                    .nextShardIterator(String.valueOf(to))
                    .millisBehindLatest(0L)
                    .build();
        }

        @Override
        public String serviceName() {
            return "kinesis";
        }

        @Override
        public void close() {}
    }

    /** An open shard over enhanced fan-out: one event per record, from the requested position; never completes. */
    private static final class FanOutShard implements KinesisAsyncClient {
        @Override
        public CompletableFuture<Void> subscribeToShard(
                SubscribeToShardRequest request, SubscribeToShardResponseHandler handler) {
            int start = position(
                    request.startingPosition().type(),
                    request.startingPosition().sequenceNumber());
            List<SubscribeToShardEvent> events = new ArrayList<>();
            for (Record r : SHARD.subList(start, SHARD.size())) {
                events.add(SubscribeToShardEvent.builder()
                        .records(r)
                        .continuationSequenceNumber(r.sequenceNumber())
                        .millisBehindLatest(0L)
                        .build());
            }
            handler.responseReceived(SubscribeToShardResponse.builder().build());
            SdkPublisher<SubscribeToShardEventStream> publisher =
                    SdkPublisher.adapt(subscriber -> subscriber.onSubscribe(new Subscription() {
                        int next;

                        @Override
                        public void request(long n) {
                            for (long i = 0; i < n && next < events.size(); i++) {
                                subscriber.onNext(events.get(next++));
                            }
                        }

                        @Override
                        public void cancel() {}
                    }));
            handler.onEventStream(publisher);
            return new CompletableFuture<>();
        }

        @Override
        public String serviceName() {
            return "kinesis";
        }

        @Override
        public void close() {}
    }

    private static final class Output implements ReaderOutput<KinesisRecord> {
        final List<String> ids = new CopyOnWriteArrayList<>();
        final List<KinesisRecord> records = new CopyOnWriteArrayList<>();
        final List<Long> timestamps = new CopyOnWriteArrayList<>();

        @Override
        public void collect(KinesisRecord record) {
            collect(record, Long.MIN_VALUE);
        }

        @Override
        public void collect(KinesisRecord record, long timestamp) {
            ids.add(record.sequenceNumber() + "/" + record.subSequenceNumber() + ":"
                    + new String(record.data(), StandardCharsets.UTF_8));
            records.add(record);
            timestamps.add(timestamp);
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

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Record plain(String seq, String data) {
        return record(seq, bytes(data));
    }

    private static Record aggregate(String seq, String... data) {
        List<KplTestEncoder.Entry> entries = new ArrayList<>();
        for (String d : data) {
            entries.add(KplTestEncoder.Entry.of("k-" + d, d));
        }
        return record(seq, KplTestEncoder.aggregate(entries));
    }

    private static Record record(String seq, byte[] data) {
        return Record.builder()
                .sequenceNumber(seq)
                .partitionKey("pk-" + seq)
                .data(SdkBytes.fromByteArray(data))
                .approximateArrivalTimestamp(Instant.ofEpochMilli(Long.parseLong(seq) * 1000))
                .build();
    }
}
