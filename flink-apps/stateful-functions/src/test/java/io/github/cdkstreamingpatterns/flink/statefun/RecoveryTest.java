package io.github.cdkstreamingpatterns.flink.statefun;

import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.egress;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.object;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.response;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A job with checkpointing fails once mid-stream, after a checkpoint, inside the dispatcher's task; it restarts from
 * the checkpoint, and the outcome shows every message applied exactly once, in order, including function-to-function
 * messages that were in the feedback loop at checkpoint time.
 */
// Guards against a hung job only; no assertion depends on timing.
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class RecoveryTest {
    private static final int ADDRESSES = 10;
    private static final int PER_ADDRESS = 30;

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
                    .build());

    static final AtomicBoolean FAILED = new AtomicBoolean();
    static final AtomicBoolean RESTORED_WITH_PROGRESS = new AtomicBoolean();

    private FunctionServer server;

    @BeforeEach
    void start() throws Exception {
        FAILED.set(false);
        RESTORED_WITH_PROGRESS.set(false);
        server = new FunctionServer();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /**
     * counter: counts messages and records whether payload.n arrived in order; each message is also forwarded to
     * audit/&lt;same id&gt;, which counts what it receives. Both emit one egress record per message.
     */
    private static FunctionServer.Reply counter(FunctionServer.Call call) throws InterruptedException {
        Thread.sleep(ThreadLocalRandom.current().nextInt(3));
        int count = call.state() == null ? 0 : call.state().get("count").asInt();
        boolean inOrder = call.state() == null || call.state().get("inOrder").asBoolean();
        ObjectNode reply = response(null);
        String egressName = call.type().equals("counter") ? "counter-events" : "audit-events";
        for (JsonNode message : call.messages()) {
            int n = message.at("/payload/n").asInt();
            inOrder &= n == count;
            count++;
            egress(
                    reply,
                    egressName,
                    call.id(),
                    "Counted",
                    object().put("n", n)
                            .put("count", count)
                            .put("messageId", message.get("id").asText()));
            if (call.type().equals("counter")) {
                send(reply, "audit", call.id(), "Audit", object().put("n", n));
            }
        }
        reply.set("state", object().put("count", count).put("inOrder", inOrder));
        return FunctionServer.Reply.ok(reply);
    }

    /** Fails the task once, after a checkpoint that covers some processed records has completed. */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<EgressRecord, EgressRecord>
            implements CheckpointedFunction, CheckpointListener {
        private static final long serialVersionUID = 1L;
        private transient ListState<Long> countState;
        private long count;
        private long countAtLastSnapshot;
        private boolean checkpointedProgress;

        @Override
        public EgressRecord map(EgressRecord value) {
            count++;
            if (checkpointedProgress && count >= 120 && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure after a completed checkpoint");
            }
            return value;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            countState.update(List.of(count));
            countAtLastSnapshot = count;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            checkpointedProgress |= countAtLastSnapshot > 0;
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            countState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("count", Types.LONG));
            for (Long restored : countState.get()) {
                count += restored;
            }
            if (context.isRestored() && count > 0) {
                RESTORED_WITH_PROGRESS.set(true);
            }
        }
    }

    @Test
    void restoresFromCheckpointWithoutApplyingAnyUpdateTwice() throws Exception {
        // GIVEN 10 counters x 30 messages, released 20 per checkpoint, and a task failure after a checkpoint
        server.route("counter", RecoveryTest::counter).route("audit", RecoveryTest::counter);
        ModuleDefinition module = TestJobs.module(
                server,
                5,
                5000,
                List.of("counter", "audit"),
                List.<String[]>of(new String[] {"Count", "counter"}),
                List.of("counter-events", "audit-events"));
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 2);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.enableCheckpointing(100);
        env.setParallelism(2);

        DataGeneratorSource<byte[]> source = new DataGeneratorSource<>(
                RecoveryTest::envelope,
                (long) ADDRESSES * PER_ADDRESS,
                RateLimiterStrategy.perCheckpoint(20),
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        // One reader keeps each counter's messages in order, like one Kinesis shard per aggregate.
        DataStream<byte[]> envelopes = env.fromSource(
                        source, org.apache.flink.api.common.eventtime.WatermarkStrategy.noWatermarks(), "envelopes")
                .setParallelism(1);
        StatefulFunctionsTopology.Outputs outputs = StatefulFunctionsTopology.build(
                envelopes, DispatcherConfig.builder(module).build());
        String id = UUID.randomUUID().toString();
        outputs.egress.map(new FailOnceAfterCheckpoint()).sinkTo(new CollectingSink<>(id + "-egress"));
        outputs.deadLetters.sinkTo(new CollectingSink<>(id + "-dlq"));

        // WHEN
        env.execute("statefun-recovery-test");

        // THEN the job did fail once and resumed from a checkpoint with progress in it
        assertThat(FAILED).isTrue();
        assertThat(RESTORED_WITH_PROGRESS).isTrue();
        assertThat(CollectingSink.<DeadLetterRecord>results(id + "-dlq")).isEmpty();
        List<JsonNode> egress = CollectingSink.<EgressRecord>results(id + "-egress").stream()
                .map(e -> TestJobs.read(e.json))
                .toList();

        for (String egressName : List.of("counter-events", "audit-events")) {
            String type = egressName.equals("counter-events") ? "counter" : "audit";
            // Records written again after the restore carry the same eventId and the same content.
            Map<String, List<JsonNode>> byEventId = egress.stream()
                    .filter(e -> e.get("aggregateType").asText().equals(type))
                    .collect(Collectors.groupingBy(
                            e -> e.get("eventId").asText(), LinkedHashMap::new, Collectors.toList()));
            byEventId
                    .values()
                    .forEach(copies -> assertThat(copies)
                            .extracting(c -> c.get("payload").toString() + c.get("sequence"))
                            .containsOnly(copies.get(0).get("payload").toString()
                                    + copies.get(0).get("sequence")));
            for (int a = 0; a < ADDRESSES; a++) {
                String aggregateId = "c" + a;
                List<JsonNode> records = new ArrayList<>(byEventId.values().stream()
                        .map(copies -> copies.get(0))
                        .filter(e -> e.get("aggregateId").asText().equals(aggregateId))
                        .toList());
                records.sort(Comparator.comparingLong(e -> e.get("sequence").asLong()));
                // every message applied exactly once, in order: n = 0..29 and the count never skips or repeats
                assertThat(records)
                        .as(type + "/" + aggregateId)
                        .extracting(e -> e.at("/payload/n").asInt())
                        .containsExactlyElementsOf(
                                IntStream.range(0, PER_ADDRESS).boxed().toList());
                assertThat(records)
                        .extracting(e -> e.at("/payload/count").asInt())
                        .containsExactlyElementsOf(
                                IntStream.rangeClosed(1, PER_ADDRESS).boxed().toList());
                assertThat(records)
                        .extracting(e -> e.get("sequence").asInt())
                        .containsExactlyElementsOf(
                                IntStream.rangeClosed(1, PER_ADDRESS).boxed().toList());
                // message ids count what the sender emitted, so they survive re-batching after the restore
                assertThat(records)
                        .extracting(e -> e.at("/payload/messageId").asText())
                        .containsExactlyElementsOf(IntStream.range(0, PER_ADDRESS)
                                .mapToObj(n -> type.equals("counter")
                                        ? "ev-" + (n * ADDRESSES + Integer.parseInt(aggregateId.substring(1)))
                                        : "counter/" + aggregateId + "/" + (n + 1))
                                .toList());
            }
        }
        // The functions' own view agrees: the last applied call for each address saw state count 30 - batch size.
        for (int a = 0; a < ADDRESSES; a++) {
            for (String type : List.of("counter", "audit")) {
                List<FunctionServer.Call> calls = server.calls(type + "/c" + a);
                FunctionServer.Call last = calls.stream()
                        .max(Comparator.comparingLong(FunctionServer.Call::stateVersion))
                        .orElseThrow();
                int before =
                        last.state() == null ? 0 : last.state().get("count").asInt();
                assertThat(before + last.messages().size()).isEqualTo(PER_ADDRESS);
                assertThat(last.state() == null || last.state().get("inOrder").asBoolean())
                        .isTrue();
            }
        }
    }

    static byte[] envelope(Long index) {
        long i = index;
        String aggregateId = "c" + (i % ADDRESSES);
        return TestJobs.envelope("ev-" + i, "Count", aggregateId, object().put("n", i / ADDRESSES))
                .getBytes(StandardCharsets.UTF_8);
    }
}
