package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.bytes;
import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole job on a Flink mini cluster with in-memory sources and sinks. Every test checks the accounting:
 * received = enriched output + dead-lettered + duplicates, and no eventId is written twice.
 */
class EnrichmentPipelineTest {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(4)
            .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
            .build());

    private static final String REFERENCE =
            "{\"deviceId\":\"device-00001\",\"site\":\"plant-1\",\"deviceType\":\"thermostat\",\"region\":\"eu-west-1\"}\n"
                    + "{\"deviceId\":\"device-00002\",\"site\":\"plant-2\",\"deviceType\":\"meter\"}\n";

    private static final ProcessingSettings PROCESSING = ProcessingSettings.defaults();

    /** Result of one job run. */
    private static final class Run {
        List<EnrichedRecord> enriched;
        List<DeadLetterRecord> deadLetters;
        Map<String, Long> counters;

        long counter(String name) {
            return counters.getOrDefault(name, 0L);
        }
    }

    private static Run run(
            StreamExecutionEnvironment env, DataStream<byte[]> raw, Function<EnrichmentJob.Pipeline, Void> extra)
            throws Exception {
        CollectingSink<EnrichedRecord> enrichedSink = new CollectingSink<>();
        CollectingSink<DeadLetterRecord> deadLetterSink = new CollectingSink<>();
        EnrichmentJob.Pipeline pipeline =
                EnrichmentJob.buildPipeline(raw, PROCESSING, new JsonLinesLoader(REFERENCE), Duration.ofHours(1));
        pipeline.enriched.sinkTo(enrichedSink);
        pipeline.deadLetters.sinkTo(deadLetterSink);
        if (extra != null) {
            extra.apply(pipeline);
        }
        JobClient client = env.executeAsync("enrichment-test");
        client.getJobExecutionResult().get(5, TimeUnit.MINUTES);
        Run run = new Run();
        run.enriched = enrichedSink.results();
        run.deadLetters = deadLetterSink.results();
        run.counters = counters(client.getJobID());
        enrichedSink.clear();
        deadLetterSink.clear();
        return run;
    }

    /** Counters of group "enrichment", summed over subtasks, by name relative to the group. */
    private static Map<String, Long> counters(JobID job) {
        Map<String, Long> sums = new HashMap<>();
        // The kinesisanalytics group is what Managed Flink forwards to CloudWatch.
        String marker = "." + EnrichmentJob.CLOUDWATCH_GROUP + ".Pipeline." + EnrichmentJob.METRIC_GROUP + ".";
        for (Map.Entry<MetricGroup, Map<String, Metric>> group :
                REPORTER.getMetricsByGroup().entrySet()) {
            if (!job.toString().equals(group.getKey().getAllVariables().get("<job_id>"))) {
                continue;
            }
            for (Map.Entry<String, Metric> m : group.getValue().entrySet()) {
                String id = group.getKey().getMetricIdentifier(m.getKey());
                int at = id.lastIndexOf(marker);
                if (at >= 0 && m.getValue() instanceof Counter) {
                    sums.merge(id.substring(at + marker.length()), ((Counter) m.getValue()).getCount(), Long::sum);
                }
            }
        }
        return sums;
    }

    private static void assertAccounting(Run run, int received) {
        assertThat(run.enriched.size() + run.deadLetters.size() + run.counter("duplicate"))
                .as("received = enriched output + dead-lettered + duplicates")
                .isEqualTo(received);
        List<String> ids = run.enriched.stream().map(r -> r.eventId).collect(Collectors.toList());
        assertThat(ids).as("no record is written twice").doesNotHaveDuplicates();
        // A record too large once enriched passed validation and is dead-lettered later, so it is valid and invalid.
        assertThat(run.counter("valid") + run.counter("invalid") - run.counter("invalidReason.RECORD_TOO_LARGE"))
                .isEqualTo(received);
        assertThat(run.counter("invalid")).isEqualTo(run.deadLetters.size());
        assertThat(run.counter("enriched") + run.counter("unknownDevice")).isEqualTo(run.enriched.size());
    }

    @Test
    void everyRecordEndsEnrichedDeadLetteredOrCountedAsDuplicate() throws Exception {
        long now = System.currentTimeMillis();
        long t = now - 60_000;
        Map<String, String> expectedDeadLetters = new LinkedHashMap<>(); // payload -> reason
        List<byte[]> input = new ArrayList<>();
        List<String> expectedOutput = new ArrayList<>();

        // Valid: known devices, unknown device, out of order within the 30 s bound.
        for (String[] r : new String[][] {
            {"ok-1", "device-00001", String.valueOf(t)},
            {"ok-2", "device-00002", String.valueOf(t + 1_000)},
            {"ok-unknown", "device-99999", String.valueOf(t + 2_000)},
            {"ok-out-of-order", "device-00001", String.valueOf(t - 20_000)},
        }) {
            input.add(bytes(json(r[0], r[1], Long.parseLong(r[2]), 21.5)));
            expectedOutput.add(r[0]);
        }
        // Duplicates: exact redelivery and a conflicting payload with the same eventId.
        input.add(bytes(json("ok-1", "device-00001", t, 21.5)));
        input.add(bytes(json("ok-2", "device-00002", t + 1_000, 99.9)));

        String metrics101 =
                IntStream.range(0, 101).mapToObj(i -> "\"m" + i + "\":1").collect(Collectors.joining(",", "{", "}"));
        String[][] invalid = {
            {"{\"eventId\":\"broken\",", "MALFORMED_JSON"},
            {"[1,2,3]", "SCHEMA"},
            {"\"just a string\"", "SCHEMA"},
            {"{\"deviceId\":\"device-00001\",\"timestamp\":" + t + ",\"metrics\":{\"a\":1}}", "SCHEMA"},
            {
                "{\"eventId\":\"x1\",\"deviceId\":\"device-00001\",\"timestamp\":\"" + t + "\",\"metrics\":{\"a\":1}}",
                "SCHEMA"
            },
            {"{\"eventId\":\"x2\",\"deviceId\":\"device 1\",\"timestamp\":" + t + ",\"metrics\":{\"a\":1}}", "SCHEMA"},
            {"{\"eventId\":\"x3\",\"deviceId\":\"d\",\"timestamp\":" + t + ",\"metrics\":" + metrics101 + "}", "SCHEMA"
            },
            {"{\"eventId\":\"x4\",\"deviceId\":\"d\",\"timestamp\":" + t + ",\"metrics\":{\"a\":NaN}}", "MALFORMED_JSON"
            },
            {"{\"eventId\":\"x5\",\"deviceId\":\"d\",\"timestamp\":" + t + ",\"metrics\":{\"a\":1e999}}", "OUT_OF_RANGE"
            },
            {json("x6", "device-00001", now + 3_600_000, 1), "TIMESTAMP_FUTURE"},
            {json("x7", "device-00001", now - 25 * 3_600_000L, 1), "TIMESTAMP_PAST"},
        };
        for (String[] r : invalid) {
            input.add(bytes(r[0]));
            expectedDeadLetters.put(r[0], r[1]);
        }
        byte[] notUtf8 = {'{', (byte) 0xff, '}'};
        input.add(notUtf8);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(4);
        DataStream<byte[]> raw = env.fromData(input, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .rebalance();
        Run run = run(env, raw, null);

        assertAccounting(run, input.size());
        assertThat(run.enriched).extracting(r -> r.eventId).containsExactlyInAnyOrderElementsOf(expectedOutput);
        Map<String, EnrichedRecord> byId = run.enriched.stream().collect(Collectors.toMap(r -> r.eventId, r -> r));
        assertThat(byId.get("ok-1").enriched).isTrue();
        assertThat(byId.get("ok-1").metadata)
                .containsOnly(
                        Map.entry("site", "plant-1"),
                        Map.entry("deviceType", "thermostat"),
                        Map.entry("region", "eu-west-1"));
        assertThat(byId.get("ok-1").attributes).containsOnly(Map.entry("fw", "1.2.0"));
        assertThat(byId.get("ok-2").metrics).as("first wins").containsOnly(Map.entry("temperature", 21.5));
        assertThat(byId.get("ok-unknown").enriched).isFalse();
        assertThat(byId.get("ok-unknown").metadata).isEmpty();
        assertThat(byId.get("ok-out-of-order").timestamp).isEqualTo(t - 20_000);
        assertThat(run.enriched).allSatisfy(r -> assertThat(r.processedAt).isGreaterThanOrEqualTo(now));

        Map<String, String> actualDeadLetters = new HashMap<>();
        for (DeadLetterRecord d : run.deadLetters) {
            assertThat(d.stage).isEqualTo("timeseries-enrichment");
            assertThat(d.detail).isNotBlank();
            assertThat(d.at).isGreaterThanOrEqualTo(now);
            if ("base64".equals(d.payloadEncoding)) {
                assertThat(Base64.getDecoder().decode(d.payload)).isEqualTo(notUtf8);
                assertThat(d.reason).isEqualTo("MALFORMED_JSON");
            } else {
                actualDeadLetters.put(d.payload, d.reason);
            }
        }
        assertThat(actualDeadLetters).isEqualTo(expectedDeadLetters);

        assertThat(run.counter("valid")).isEqualTo(6);
        assertThat(run.counter("invalid")).isEqualTo(12);
        // NaN is not JSON (the telemetry contract): MALFORMED_JSON, like the Lambda parser.
        assertThat(run.counter("invalidReason.MALFORMED_JSON")).isEqualTo(3);
        assertThat(run.counter("invalidReason.SCHEMA")).isEqualTo(6);
        assertThat(run.counter("invalidReason.OUT_OF_RANGE")).isEqualTo(1);
        assertThat(run.counter("invalidReason.TIMESTAMP_FUTURE")).isEqualTo(1);
        assertThat(run.counter("invalidReason.TIMESTAMP_PAST")).isEqualTo(1);
        assertThat(run.counter("duplicate")).isEqualTo(2);
        assertThat(run.counter("duplicateConflict")).isEqualTo(1);
        assertThat(run.counter("enriched")).isEqualTo(3);
        assertThat(run.counter("unknownDevice")).isEqualTo(1);
    }

    @Test
    void duplicatesArrivingThroughDifferentSubtasksAreCaughtBecauseTheStreamIsKeyedByEventId() throws Exception {
        long t = System.currentTimeMillis() - 60_000;
        int events = 200;
        List<byte[]> input = new ArrayList<>();
        for (int copy = 0; copy < 3; copy++) {
            List<byte[]> round = new ArrayList<>();
            for (int i = 0; i < events; i++) {
                round.add(bytes(json("evt-" + i, "device-0000" + (1 + i % 3), t + i, i)));
            }
            Collections.shuffle(round, new Random(copy));
            input.addAll(round);
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(4);
        // rebalance: the copies of one event are parsed by different validate subtasks.
        DataStream<byte[]> raw = env.fromData(input, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .rebalance();
        Run run = run(env, raw, null);

        assertAccounting(run, input.size());
        assertThat(run.enriched).hasSize(events);
        assertThat(run.deadLetters).isEmpty();
        assertThat(run.counter("duplicate")).isEqualTo(2L * events);
        assertThat(run.counter("duplicateConflict")).isZero();
        assertThat(run.enriched)
                .extracting(r -> r.eventId)
                .containsExactlyInAnyOrderElementsOf(
                        IntStream.range(0, events).mapToObj(i -> "evt-" + i).collect(Collectors.toList()));
    }

    // ---- late records ----

    private static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();

    /** Holds back every record after the first until the watermark downstream has passed a threshold. */
    private static final class GateAfterFirst extends RichMapFunction<byte[], byte[]> {
        private final String gate;
        private boolean first = true;

        GateAfterFirst(String gate) {
            this.gate = gate;
        }

        @Override
        public byte[] map(byte[] value) throws Exception {
            if (!first && !GATES.get(gate).await(2, TimeUnit.MINUTES)) {
                throw new IllegalStateException("watermark never reached the probe");
            }
            first = false;
            return value;
        }
    }

    /** Opens the gate once the event-time watermark reaches the threshold. */
    private static final class WatermarkProbe extends KeyedProcessFunction<Integer, EnrichedRecord, Void> {
        private final String gate;
        private final long threshold;

        WatermarkProbe(String gate, long threshold) {
            this.gate = gate;
            this.threshold = threshold;
        }

        @Override
        public void processElement(EnrichedRecord value, Context ctx, Collector<Void> out) {
            ctx.timerService().registerEventTimeTimer(threshold);
        }

        @Override
        public void onTimer(long timestamp, OnTimerContext ctx, Collector<Void> out) {
            GATES.get(gate).countDown();
        }
    }

    @Test
    void recordsBehindTheWatermarkAreCountedLateButStillEnriched() throws Exception {
        long t = System.currentTimeMillis() - 3_600_000;
        long bound = PROCESSING.maxOutOfOrderness().toMillis();
        long watermarkAfterFirst = t - bound - 1;
        List<byte[]> input = List.of(
                bytes(json("leader", "device-00001", t, 1)),
                bytes(json("within-bound", "device-00001", t - bound + 1_000, 2)),
                bytes(json("late", "device-00002", t - bound - 10_000, 3)),
                bytes(json("late-duplicate", "device-00002", t - bound - 20_000, 4)),
                bytes(json("late-duplicate", "device-00002", t - bound - 20_000, 4)));
        String gate = "late-" + System.nanoTime();
        GATES.put(gate, new CountDownLatch(1));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        DataStream<byte[]> raw = env.fromData(input, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .map(new GateAfterFirst(gate))
                .returns(PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        Run run = run(env, raw, p -> {
            p.enriched
                    .keyBy(r -> 0, Types.INT)
                    .process(new WatermarkProbe(gate, watermarkAfterFirst))
                    .returns(Types.VOID)
                    .sinkTo(new DiscardingSink<>());
            return null;
        });
        GATES.remove(gate);

        assertAccounting(run, input.size());
        assertThat(run.enriched)
                .extracting(r -> r.eventId)
                .containsExactlyInAnyOrder("leader", "within-bound", "late", "late-duplicate");
        assertThat(run.enriched).allSatisfy(r -> assertThat(r.enriched).isTrue());
        assertThat(run.counter("late")).isEqualTo(2);
        assertThat(run.counter("duplicate")).isEqualTo(1);
    }

    @Test
    void buildWiresBothSinks() throws Exception {
        long t = System.currentTimeMillis() - 60_000;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        CollectingSink<EnrichedRecord> enriched = new CollectingSink<>();
        CollectingSink<DeadLetterRecord> dead = new CollectingSink<>();
        EnrichmentJob.build(
                env.fromData(
                        List.of(bytes(json("a", "device-00001", t, 1)), "nope".getBytes(StandardCharsets.UTF_8)),
                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO),
                PROCESSING,
                new JsonLinesLoader(REFERENCE),
                Duration.ofHours(1),
                enriched,
                dead);
        env.execute("build-test");
        assertThat(enriched.results()).extracting(r -> r.eventId).containsExactly("a");
        assertThat(dead.results()).extracting(r -> r.reason).containsExactly("MALFORMED_JSON");
        enriched.clear();
        dead.clear();
    }

    // ---- records near Kinesis' 1 MiB record limit ----

    /** Bytes the dead-letter sink would put: JSON plus partition key. */
    private static long kinesisSize(DeadLetterRecord d) {
        return new DeadLetterSerializationSchema().serialize(d).length
                + (long) d.partitionKey.getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void recordsNearOneMebibyteAreDeadLetteredCutToFitTheKinesisLimitInsteadOfFailingTheSink() throws Exception {
        long t = System.currentTimeMillis() - 60_000;
        int max = (int) EnrichmentJob.MAX_RECORD_BYTES;
        // Not UTF-8: base64 makes the dead-letter payload a third larger than the record.
        byte[] notUtf8 = new byte[max - 1024];
        new Random(7).nextBytes(notUtf8);
        notUtf8[0] = (byte) 0xff;
        // Malformed JSON of control characters: Jackson writes each as a 6-byte escape.
        StringBuilder controls = new StringBuilder("{\"eventId\":\"");
        while (controls.length() < max - 1024) {
            controls.append('\u0001');
        }
        String escapeHeavy = controls.toString();
        // Valid, under the limit as received, over it once metadata is added.
        String bigAttribute = "a".repeat(max - 180);
        String growsPastLimit = "{\"eventId\":\"big\",\"deviceId\":\"device-00001\",\"timestamp\":"
                + t
                + ",\"metrics\":{\"temperature\":1.5},\"attributes\":{\"blob\":\""
                + bigAttribute
                + "\"}}";
        assertThat(bytes(growsPastLimit).length).isLessThan(max - 20);
        List<byte[]> input =
                List.of(notUtf8, bytes(escapeHeavy), bytes(growsPastLimit), bytes(json("small", "device-00001", t, 2)));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        Run run = run(
                env,
                env.fromData(input, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                        .rebalance(),
                null);

        assertAccounting(run, input.size());
        assertThat(run.enriched).extracting(r -> r.eventId).containsExactly("small");
        assertThat(run.deadLetters).hasSize(3);
        Map<String, DeadLetterRecord> byReason = new HashMap<>();
        for (DeadLetterRecord d : run.deadLetters) {
            assertThat(kinesisSize(d)).as(d.reason + " fits a Kinesis record").isLessThanOrEqualTo(max);
            assertThat(d.truncated).as(d.reason + " is cut").isTrue();
            assertThat(d.payload).isNotEmpty();
            // Cut close to the limit, not far below it.
            assertThat(kinesisSize(d)).isGreaterThan(max - 16);
            byReason.put(d.reason + "/" + d.payloadEncoding, d);
        }
        assertThat(byReason)
                .containsOnlyKeys("MALFORMED_JSON/base64", "MALFORMED_JSON/utf-8", "RECORD_TOO_LARGE/utf-8");
        assertThat(Base64.getEncoder().encodeToString(notUtf8))
                .startsWith(byReason.get("MALFORMED_JSON/base64").payload);
        assertThat(escapeHeavy).startsWith(byReason.get("MALFORMED_JSON/utf-8").payload);
        DeadLetterRecord tooLarge = byReason.get("RECORD_TOO_LARGE/utf-8");
        assertThat(growsPastLimit).startsWith(tooLarge.payload);
        assertThat(tooLarge.detail).contains("enriched record is").doesNotContain("as validated");

        assertThat(run.counter("valid")).isEqualTo(2);
        assertThat(run.counter("invalid")).isEqualTo(3);
        assertThat(run.counter("invalidReason.MALFORMED_JSON")).isEqualTo(2);
        assertThat(run.counter("invalidReason.RECORD_TOO_LARGE")).isEqualTo(1);
        assertThat(run.counter("enriched")).isEqualTo(1);
    }
}
