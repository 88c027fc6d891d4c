package io.github.cdkstreamingpatterns.flink.kinesis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.kinesis.aggregation.KplTestEncoder;
import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.ShardLister;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.PutRecordRequest;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.SplitShardRequest;

/** End-to-end against a real local Kinesis server (kinesis-local) on a Flink MiniCluster. */
// A hang (a record that never arrives) must fail the build rather than block it; this is not a speed assertion.
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class KinesisConnectorIntegrationTest {
    @RegisterExtension
    static final KinesisLocalServer KINESIS = new KinesisLocalServer();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(4)
            .build());

    @Test
    void sinkWritesEveryRecordAndSourceReadsEachExactlyOnceInShardOrder() throws Exception {
        // GIVEN a 2-shard stream and 1000 records over 40 partition keys
        KinesisClientConfig config = KINESIS.createStream(2);
        int n = 1000;
        List<String> payloads = IntStream.range(0, n)
                .mapToObj(i -> KinesisTestData.payload(i, 40))
                .collect(Collectors.toList());

        // WHEN a bounded job writes them with the sink
        StreamExecutionEnvironment writer = StreamExecutionEnvironment.getExecutionEnvironment();
        writer.setParallelism(2);
        writer.fromData(payloads)
                .sinkTo(KinesisStreamSink.<String>builder()
                        .clientConfig(config)
                        .serializationSchema(new SimpleStringSchema())
                        .partitionKeyGenerator(KinesisTestData::keyOf)
                        .maxBatchSize(100)
                        .build());
        writer.execute("write");

        // THEN the stream holds each record exactly once, spread over both shards
        Map<String, List<Record>> truth = KinesisTestData.readAll(config);
        assertThat(truth).hasSize(2);
        assertThat(truth.values()).allSatisfy(records -> assertThat(records).isNotEmpty());
        List<String> stored = truth.values().stream()
                .flatMap(List::stream)
                .map(r -> r.data().asUtf8String())
                .collect(Collectors.toList());
        assertThat(stored).containsExactlyInAnyOrderElementsOf(payloads);
        assertThat(truth.values().stream().flatMap(List::stream))
                .allSatisfy(r -> assertThat(r.partitionKey())
                        .isEqualTo(KinesisTestData.keyOf(r.data().asUtf8String())));

        // WHEN the source reads the stream from TRIM_HORIZON with 2 readers
        List<KinesisRecord> read = readN(config, n, 2);

        // THEN every record arrives exactly once, and each shard's records in the shard's own order
        assertThat(read.stream().map(r -> KinesisTestData.utf8(r.data())))
                .containsExactlyInAnyOrderElementsOf(payloads);
        Map<String, List<String>> readSeqByShard = new LinkedHashMap<>();
        for (KinesisRecord r : read) {
            readSeqByShard.computeIfAbsent(r.shardId(), k -> new ArrayList<>()).add(r.sequenceNumber());
        }
        for (Map.Entry<String, List<Record>> shard : truth.entrySet()) {
            assertThat(readSeqByShard.get(shard.getKey()))
                    .as("records of %s in shard order", shard.getKey())
                    .containsExactlyElementsOf(shard.getValue().stream()
                            .map(Record::sequenceNumber)
                            .collect(Collectors.toList()));
        }
        assertThat(read).allSatisfy(r -> {
            assertThat(r.partitionKey()).isEqualTo(KinesisTestData.keyOf(KinesisTestData.utf8(r.data())));
            assertThat(r.approximateArrivalTimestamp()).isPositive();
        });
    }

    @ParameterizedTest(name = "efo={0}")
    @ValueSource(booleans = {false, true})
    void restoreFromASavepointResumesRightAfterTheLastEmittedRecord(boolean efo, @TempDir Path savepoints)
            throws Exception {
        // GIVEN 30 records in a 2-shard stream, all read by a job that is then stopped with a savepoint
        KinesisClientConfig config = KINESIS.createStream(2);
        String consumer = efo ? KINESIS.registerConsumer(config, "restore") : null;
        List<String> first = IntStream.range(0, 30)
                .mapToObj(i -> KinesisTestData.payload(i, 10))
                .collect(Collectors.toList());
        KinesisTestData.putDirect(config, first);
        QueueSink run1 = new QueueSink();
        JobClient job1 = sourceJob(config, consumer, run1, null).executeAsync("run-1");
        assertThat(run1.awaitAtLeast(30).stream().map(r -> KinesisTestData.utf8(r.data())))
                .containsExactlyInAnyOrderElementsOf(first);
        String savepoint = job1.stopWithSavepoint(false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                .get();

        // WHEN 20 more records are written and the job resumes from the savepoint
        List<String> second = IntStream.range(30, 50)
                .mapToObj(i -> KinesisTestData.payload(i, 10))
                .collect(Collectors.toList());
        KinesisTestData.putDirect(config, second);
        QueueSink run2 = new QueueSink();
        JobClient job2 = sourceJob(config, consumer, run2, savepoint).executeAsync("run-2");
        try {
            // THEN the first 20 records it emits are exactly the new ones: a shard re-read from its start (or from the
            // last record instead of after it) would emit an old record ahead of that shard's new ones.
            List<KinesisRecord> resumed = run2.awaitAtLeast(20).subList(0, 20);
            assertThat(resumed.stream().map(r -> KinesisTestData.utf8(r.data())))
                    .containsExactlyInAnyOrderElementsOf(second);
        } finally {
            job2.cancel().get();
        }
    }

    @ParameterizedTest(name = "efo={0}")
    @ValueSource(booleans = {false, true})
    void kplAggregatesArriveAsTheirUserRecordsAndDamagedOnesWhole(boolean efo) throws Exception {
        // GIVEN a plain record, an aggregate of 40, an aggregate with a wrong MD5 and one with explicit hash keys
        KinesisClientConfig config = KINESIS.createStream(1);
        String consumer = efo ? KINESIS.registerConsumer(config, "kpl") : null;
        List<KplTestEncoder.Entry> forty = IntStream.range(0, 40)
                .mapToObj(i -> KplTestEncoder.Entry.of("device-" + (i % 7), "u" + i))
                .collect(Collectors.toList());
        byte[] damaged = KplTestEncoder.aggregate(List.of(KplTestEncoder.Entry.of("k", "lost?")));
        damaged[damaged.length - 1] ^= 1;
        List<KplTestEncoder.Entry> hashed = List.of(
                new KplTestEncoder.Entry(
                        "h0", "170141183460469231731687303715884105728", "h0".getBytes(StandardCharsets.UTF_8)),
                KplTestEncoder.Entry.of("h1", "h1"));
        try (KinesisClient client = config.buildClient()) {
            for (byte[] data : List.of(
                    "plain".getBytes(StandardCharsets.UTF_8),
                    KplTestEncoder.aggregate(forty),
                    damaged,
                    KplTestEncoder.aggregate(hashed))) {
                client.putRecord(PutRecordRequest.builder()
                        .streamARN(config.streamArn())
                        .partitionKey("parent")
                        .data(SdkBytes.fromByteArray(data))
                        .build());
            }
        }

        // WHEN the source reads the stream
        QueueSink sink = new QueueSink();
        JobClient job = sourceJob(config, consumer, sink, null).executeAsync("kpl");
        List<KinesisRecord> read;
        try {
            read = sink.awaitAtLeast(44);
            Thread.sleep(500); // a repeat or a stray record would show up now
            read = sink.received();
        } finally {
            job.cancel().get();
        }

        // THEN each user record arrives once, in order, with its own key; the damaged aggregate arrives as it was
        // written
        assertThat(read).hasSize(44);
        assertThat(read.get(0).data()).isEqualTo("plain".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < 40; i++) {
            KinesisRecord r = read.get(1 + i);
            assertThat(KinesisTestData.utf8(r.data())).isEqualTo("u" + i);
            assertThat(r.partitionKey()).isEqualTo("device-" + (i % 7));
            assertThat(r.subSequenceNumber()).isEqualTo(i);
            assertThat(r.sequenceNumber()).isEqualTo(read.get(1).sequenceNumber());
        }
        assertThat(read.get(41).data()).isEqualTo(damaged);
        assertThat(read.get(41).partitionKey()).isEqualTo("parent");
        assertThat(read.get(42).explicitHashKey()).isEqualTo("170141183460469231731687303715884105728");
        assertThat(read.get(43).explicitHashKey()).isNull();
        assertThat(read.subList(42, 44)).extracting(KinesisRecord::partitionKey).containsExactly("h0", "h1");
    }

    // Polling only: kinesis-local never sends the final SubscribeToShard event of a closed shard (the real service
    // does), so enhanced fan-out shard ends are covered by KinesisEfoSplitReaderTest instead.
    @Test
    void childShardsAreReadAfterTheirParentSoEachKeyKeepsItsOrder() throws Exception {
        // GIVEN records in a 1-shard stream that is then split, and more records written to the children
        KinesisClientConfig config = KINESIS.createStream(1);
        List<String> before = IntStream.range(0, 60)
                .mapToObj(i -> KinesisTestData.payload(i, 12))
                .collect(Collectors.toList());
        KinesisTestData.putDirect(config, before);
        try (KinesisClient client = config.buildClient()) {
            String parent = ShardLister.of(config).listShards().get(0).shardId();
            client.splitShard(SplitShardRequest.builder()
                    .streamARN(config.streamArn())
                    .shardToSplit(parent)
                    .newStartingHashKey(BigInteger.ONE.shiftLeft(127).toString())
                    .build());
            KINESIS.awaitActive(client, config);
        }
        List<String> after = IntStream.range(60, 120)
                .mapToObj(i -> KinesisTestData.payload(i, 12))
                .collect(Collectors.toList());
        KinesisTestData.putDirect(config, after);
        Map<String, List<Record>> truth = KinesisTestData.readAll(config);
        assertThat(truth).hasSize(3);

        // WHEN the source reads everything with 2 readers
        QueueSink sink = new QueueSink();
        JobClient job = sourceJob(config, null, sink, null).executeAsync("reshard");
        List<KinesisRecord> read;
        try {
            read = sink.awaitAtLeast(120);
        } finally {
            job.cancel().get();
        }

        // THEN every record arrives once and, per key, in write order (parent's records before the children's)
        List<String> payloads =
                read.stream().map(r -> KinesisTestData.utf8(r.data())).collect(Collectors.toList());
        assertThat(payloads).hasSize(120).doesNotHaveDuplicates();
        Map<String, List<Integer>> byKey = new LinkedHashMap<>();
        for (String p : payloads) {
            byKey.computeIfAbsent(KinesisTestData.keyOf(p), k -> new ArrayList<>())
                    .add(Integer.parseInt(p.substring(p.indexOf('|') + 1)));
        }
        assertThat(byKey).hasSize(12);
        assertThat(byKey.values()).allSatisfy(ns -> assertThat(ns).isSorted());
        assertThat(read.stream().map(KinesisRecord::shardId).distinct()).hasSize(3);
    }

    @Test
    void enhancedFanOutReadsEachRecordExactlyOnceInShardOrder() throws Exception {
        // GIVEN 400 records over 2 shards and a registered consumer
        KinesisClientConfig config = KINESIS.createStream(2);
        String consumer = KINESIS.registerConsumer(config, "efo-read");
        List<String> payloads = IntStream.range(0, 400)
                .mapToObj(i -> KinesisTestData.payload(i, 30))
                .collect(Collectors.toList());
        KinesisTestData.putDirect(config, payloads);
        Map<String, List<Record>> truth = KinesisTestData.readAll(config);
        assertThat(truth.values()).allSatisfy(records -> assertThat(records).isNotEmpty());

        // WHEN the source subscribes to both shards with 2 readers
        QueueSink sink = new QueueSink();
        JobClient job = sourceJob(config, consumer, sink, null).executeAsync("efo");
        List<KinesisRecord> read;
        try {
            read = sink.awaitAtLeast(400);
        } finally {
            job.cancel().get();
        }

        // THEN each record arrives once and each shard's records in the shard's order
        assertThat(read.stream().map(r -> KinesisTestData.utf8(r.data())))
                .containsExactlyInAnyOrderElementsOf(payloads);
        for (Map.Entry<String, List<Record>> shard : truth.entrySet()) {
            assertThat(read.stream()
                            .filter(r -> r.shardId().equals(shard.getKey()))
                            .map(KinesisRecord::sequenceNumber))
                    .containsExactlyElementsOf(shard.getValue().stream()
                            .map(Record::sequenceNumber)
                            .collect(Collectors.toList()));
        }
    }

    @Test
    void enhancedFanOutFailsTheJobWhenTheConsumerDoesNotExist() throws Exception {
        KinesisClientConfig config = KINESIS.createStream(1);
        String missing = config.streamArn() + "/consumer/never-registered:1764403200";
        StreamExecutionEnvironment env = noRestartEnv();
        env.fromSource(
                        KinesisStreamSource.builder()
                                .clientConfig(config)
                                .initialPosition(InitialPosition.TRIM_HORIZON)
                                .efoConsumerArn(missing)
                                .build(),
                        WatermarkStrategy.noWatermarks(),
                        "kinesis")
                .sinkTo(new QueueSink());
        assertThatThrownBy(() -> env.execute("efo-missing"))
                .satisfies(e -> assertThat(ExceptionUtils.findThrowableWithMessage(e, "efo.consumer.arn"))
                        .isPresent());
    }

    @Test
    void sinkFailsTheJobWhenTheStreamDoesNotExist() {
        KinesisClientConfig missing = KINESIS.config("no-such-stream");
        StreamExecutionEnvironment env = noRestartEnv();
        env.fromData(List.of("device-1|1", "device-2|2"))
                .sinkTo(KinesisStreamSink.<String>builder()
                        .clientConfig(missing)
                        .serializationSchema(new SimpleStringSchema())
                        .partitionKeyGenerator(KinesisTestData::keyOf)
                        .build());
        assertThatThrownBy(() -> env.execute("sink-missing"))
                .satisfies(e -> assertThat(ExceptionUtils.findThrowable(e, KinesisSinkException.class))
                        .hasValueSatisfying(k -> assertThat(k.getMessage())
                                .contains(missing.streamArn())
                                .contains("ResourceNotFoundException")));
    }

    @Test
    void sourceFailsTheJobWhenTheStreamDoesNotExist() {
        KinesisClientConfig missing = KINESIS.config("no-such-stream");
        StreamExecutionEnvironment env = noRestartEnv();
        env.fromSource(
                        KinesisStreamSource.builder()
                                .clientConfig(missing)
                                .initialPosition(InitialPosition.TRIM_HORIZON)
                                .build(),
                        WatermarkStrategy.noWatermarks(),
                        "kinesis")
                .sinkTo(new QueueSink());
        assertThatThrownBy(() -> env.execute("source-missing"))
                .satisfies(e -> assertThat(ExceptionUtils.findThrowableWithMessage(e, "does not exist"))
                        .isPresent());
    }

    private static StreamExecutionEnvironment noRestartEnv() {
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        return env;
    }

    private static StreamExecutionEnvironment sourceJob(
            KinesisClientConfig config, String efoConsumerArn, QueueSink sink, String savepoint) {
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        if (savepoint != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        env.enableCheckpointing(500);
        env.fromSource(
                        KinesisStreamSource.builder()
                                .clientConfig(config)
                                .initialPosition(InitialPosition.TRIM_HORIZON)
                                .pollIntervalMillis(50)
                                .shardDiscoveryIntervalMillis(300)
                                .efoConsumerArn(efoConsumerArn)
                                .build(),
                        WatermarkStrategy.noWatermarks(),
                        "kinesis")
                .uid("kinesis-source")
                .sinkTo(sink)
                .uid("queue-sink");
        return env;
    }

    static List<KinesisRecord> readN(KinesisClientConfig config, int n, int parallelism) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        KinesisStreamSource source = KinesisStreamSource.builder()
                .clientConfig(config)
                .initialPosition(InitialPosition.TRIM_HORIZON)
                .pollIntervalMillis(50)
                .shardDiscoveryIntervalMillis(500)
                .build();
        List<KinesisRecord> read = new ArrayList<>();
        try (CloseableIterator<KinesisRecord> it = env.fromSource(source, WatermarkStrategy.noWatermarks(), "kinesis")
                .executeAndCollect("read")) {
            while (read.size() < n) {
                read.add(it.next());
            }
        }
        Set<String> ids = new HashSet<>();
        for (KinesisRecord r : read) {
            assertThat(ids.add(r.shardId() + "/" + r.sequenceNumber()))
                    .as("duplicate %s", r)
                    .isTrue();
        }
        return read;
    }
}
