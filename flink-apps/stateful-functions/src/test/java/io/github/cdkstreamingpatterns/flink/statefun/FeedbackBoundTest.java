package io.github.cdkstreamingpatterns.flink.statefun;

import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.egress;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.object;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.response;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.send;
import static io.github.cdkstreamingpatterns.flink.statefun.TestJobs.envelope;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The feedback loop is bounded by max.pending.feedback: ingress pauses at half of it while feedback drains, and a
 * message beyond it is dead-lettered with FEEDBACK_OVERFLOW. The run is sequenced by conditions (who has been called,
 * what has been dead-lettered, whether ingress paused), never by timing.
 */
// Guards against a hung job only; no assertion depends on timing.
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class FeedbackBoundTest {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
                    .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
                    .build());

    private static final int BOUND = 10;
    private static final int FAN_OUT = 3 * BOUND;
    // Shared with the job's operators and the function handlers (the MiniCluster runs in this JVM).
    private static final AtomicInteger LEAF_CALLS = new AtomicInteger();
    private static final AtomicInteger LEAF_COMPLETED = new AtomicInteger();
    private static final AtomicInteger COMPLETED_WHEN_LATE_CALLED = new AtomicInteger(-1);

    private FunctionServer server;

    @BeforeEach
    void startServer() throws Exception {
        server = new FunctionServer();
        LEAF_CALLS.set(0);
        LEAF_COMPLETED.set(0);
        COMPLETED_WHEN_LATE_CALLED.set(-1);
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    /** Waits for a condition (the test's sequencing); false if it never came. */
    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    /** Lets the "late" envelope through only once the dispatcher holds BOUND feedback messages (all leaves called). */
    static final class HoldLateEnvelope implements MapFunction<byte[], byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] map(byte[] value) throws Exception {
            if (new String(value, StandardCharsets.UTF_8).contains("\"late-1\"")
                    && !await(() -> LEAF_CALLS.get() >= BOUND)) {
                throw new IllegalStateException("the leaves were never called");
            }
            return value;
        }
    }

    private static long counterOrZero(AtomicReference<JobID> job, String name) {
        if (job.get() == null) {
            return 0;
        }
        try {
            return new ReportedMetrics(REPORTER, job.get()).counters().getOrDefault(name, 0L);
        } catch (RuntimeException registering) {
            // Metrics may be registered while we read them; the next poll reads again.
            return 0;
        }
    }

    @Test
    void aBurstBeyondTheBoundPausesIngressAndDeadLettersTheExcessWithoutExceedingTheBound() throws Exception {
        // GIVEN one function that fans out to 3x the bound of distinct addresses; the leaves hold their calls until
        // the dispatcher holds the bound, the excess is dead-lettered, and the late envelope found ingress paused
        String dlq = UUID.randomUUID() + "-dlq";
        String egressSink = UUID.randomUUID() + "-egress";
        AtomicReference<JobID> job = new AtomicReference<>();
        server.route("fan", call -> {
            ObjectNode reply = response(null);
            for (int i = 0; i < FAN_OUT; i++) {
                send(reply, "leaf", "l" + i, "Touch", object().put("i", i));
            }
            return FunctionServer.Reply.ok(reply);
        });
        server.route("leaf", call -> {
            LEAF_CALLS.incrementAndGet();
            boolean ready = await(() -> LEAF_CALLS.get() >= BOUND
                    && CollectingSink.<DeadLetterRecord>results(dlq).stream()
                                    .filter(d -> d.reason.equals(DeadLetters.FEEDBACK_OVERFLOW))
                                    .count()
                            >= FAN_OUT - BOUND
                    && counterOrZero(job, StatefunMetrics.INGRESS_PAUSES) >= 1);
            if (!ready) {
                return new FunctionServer.Reply(500, "{\"error\":\"the burst never reached its bound\"}");
            }
            ObjectNode reply = response(object().put("touched", true));
            egress(reply, "events", call.id(), "Touched", object());
            LEAF_COMPLETED.incrementAndGet();
            return FunctionServer.Reply.ok(reply);
        });
        server.route("late", call -> {
            COMPLETED_WHEN_LATE_CALLED.compareAndSet(-1, LEAF_COMPLETED.get());
            return FunctionServer.Reply.ok(response(object()));
        });
        ModuleDefinition module = TestJobs.module(
                server,
                1,
                120_000,
                List.of("fan", "leaf", "late"),
                List.of(new String[] {"Fan", "fan"}, new String[] {"Late", "late"}),
                List.of("events"));
        DispatcherConfig config = DispatcherConfig.builder(module)
                .maxConcurrentCalls(BOUND + 2)
                .maxPendingFeedback(BOUND)
                .build();
        List<byte[]> envelopes = List.of(
                envelope("fan-1", "Fan", "f", object()).getBytes(StandardCharsets.UTF_8),
                envelope("late-1", "Late", "x", object()).getBytes(StandardCharsets.UTF_8));

        // WHEN
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        DataStream<byte[]> source = env.fromData(envelopes, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .map(new HoldLateEnvelope(), PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        StatefulFunctionsTopology.Outputs outputs = StatefulFunctionsTopology.build(source, config);
        outputs.egress.sinkTo(new CollectingSink<>(egressSink));
        outputs.deadLetters.sinkTo(new CollectingSink<>(dlq));
        JobClient client = env.executeAsync("feedback-bound-test");
        job.set(client.getJobID());
        client.getJobExecutionResult().get(4, TimeUnit.MINUTES);
        List<DeadLetterRecord> deadLetters = CollectingSink.results(dlq);
        List<EgressRecord> egressRecords = CollectingSink.results(egressSink);
        ReportedMetrics metrics = new ReportedMetrics(REPORTER, job.get());

        // THEN the dispatcher never held more than the bound, and it did hold exactly the bound
        assertThat(metrics.gauge(StatefunMetrics.PENDING_FEEDBACK_PEAK))
                .hasSize(1)
                .allSatisfy((scope, peak) -> assertThat((Long) peak).isEqualTo(BOUND));
        assertThat(metrics.gauge(StatefunMetrics.PENDING_FEEDBACK))
                .allSatisfy((scope, pending) -> assertThat((Long) pending).isZero());

        // ingress paused: the late envelope was applied only after feedback drained below half the bound
        assertThat(metrics.counter(StatefunMetrics.INGRESS_PAUSES)).isEqualTo(1);
        assertThat(COMPLETED_WHEN_LATE_CALLED.get()).isGreaterThanOrEqualTo(BOUND - config.ingressPauseThreshold() + 1);

        // every fanned-out message was applied by its leaf or dead-lettered with FEEDBACK_OVERFLOW, exactly once
        List<String> applied = server.calls().stream()
                .filter(c -> c.type().equals("leaf"))
                .flatMap(c -> c.messages().stream())
                .map(m -> m.get("id").asText())
                .toList();
        List<String> overflowed = new ArrayList<>();
        for (DeadLetterRecord d : deadLetters) {
            JsonNode letter = TestJobs.read(TestJobs.json(d));
            assertThat(letter.get("reason").asText()).isEqualTo(DeadLetters.FEEDBACK_OVERFLOW);
            assertThat(letter.get("detail").asText()).contains("max.pending.feedback = " + BOUND);
            JsonNode payload = TestJobs.read(letter.get("payload").asText());
            assertThat(payload.at("/message/from/type").asText()).isEqualTo("fan");
            assertThat(d.partitionKey)
                    .isEqualTo(payload.at("/address/type").asText() + "/"
                            + payload.at("/address/id").asText());
            overflowed.add(payload.at("/message/id").asText());
        }
        assertThat(applied).hasSize(BOUND);
        assertThat(overflowed).hasSize(FAN_OUT - BOUND);
        List<String> all = new ArrayList<>(applied);
        all.addAll(overflowed);
        assertThat(all)
                .containsExactlyInAnyOrderElementsOf(IntStream.rangeClosed(1, FAN_OUT)
                        .mapToObj(n -> "fan/f/" + n)
                        .toList());
        assertThat(egressRecords).hasSize(BOUND);

        // and the counters balance: received + feedback = applied + dead-lettered
        long received = metrics.counter(StatefunMetrics.MESSAGES_RECEIVED);
        long feedback = metrics.counter(StatefunMetrics.FEEDBACK_MESSAGES);
        assertThat(received).isEqualTo(2);
        assertThat(feedback).isEqualTo(FAN_OUT);
        assertThat(metrics.counter(StatefunMetrics.MESSAGES_APPLIED)).isEqualTo(1 + BOUND + 1);
        assertThat(metrics.counter(StatefunMetrics.MESSAGES_DEAD_LETTERED)).isEqualTo(FAN_OUT - BOUND);
        assertThat(metrics.counter(StatefunMetrics.DEAD_LETTER_REASON + "." + DeadLetters.FEEDBACK_OVERFLOW))
                .isEqualTo(FAN_OUT - BOUND);
        assertThat(received + feedback)
                .isEqualTo(metrics.counter(StatefunMetrics.MESSAGES_APPLIED)
                        + metrics.counter(StatefunMetrics.MESSAGES_DEAD_LETTERED));
    }
}
