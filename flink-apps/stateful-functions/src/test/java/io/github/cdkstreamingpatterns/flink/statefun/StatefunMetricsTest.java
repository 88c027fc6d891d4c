package io.github.cdkstreamingpatterns.flink.statefun;

import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.egress;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.object;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.reject;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.response;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.send;
import static io.github.cdkstreamingpatterns.flink.statefun.TestJobs.envelope;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The CloudWatch metrics (group kinesisanalytics, Pipeline=stateful-functions) match what happened in a run. */
// Guards against a hung job only; no assertion depends on timing.
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StatefunMetricsTest {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
                    .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
                    .build());

    private FunctionServer server;

    @BeforeEach
    void startServer() throws Exception {
        server = new FunctionServer();
    }

    @AfterEach
    void stopServer() {
        server.close();
    }

    /** PlaceOrder: reserve at inventory, a message to an unknown function type, one known and one unknown egress. */
    private static FunctionServer.Reply order(FunctionServer.Call call) {
        ObjectNode reply = response(object().put("placed", true));
        for (JsonNode message : call.messages()) {
            switch (message.get("type").asText()) {
                case "PlaceOrder" -> {
                    send(
                            reply,
                            "inventory",
                            message.at("/payload/sku").asText(),
                            "ReserveStock",
                            object().put("orderId", call.id()));
                    send(reply, "ghost", "g-" + call.id(), "Haunt", object());
                    egress(reply, "order-events", call.id(), "OrderPlaced", object());
                    egress(reply, "nowhere", call.id(), "Lost", object());
                }
                case "StockReserved" -> egress(reply, "order-events", call.id(), "OrderConfirmed", object());
                default ->
                    reject(
                            reply,
                            message.get("id").asText(),
                            "unsupported " + message.get("type").asText());
            }
        }
        return FunctionServer.Reply.ok(reply);
    }

    private static FunctionServer.Reply inventory(FunctionServer.Call call) {
        ObjectNode reply = response(object().put("reserved", true));
        for (JsonNode message : call.messages()) {
            send(reply, "order", message.at("/payload/orderId").asText(), "StockReserved", object());
            egress(reply, "order-events", call.id(), "StockChanged", object());
        }
        return FunctionServer.Reply.ok(reply);
    }

    @Test
    void countersMatchWhatHappenedAndReceivedEqualsAppliedPlusDeadLettered() throws Exception {
        // GIVEN orders that message inventory (and an unknown function type), a rejected message, a function that
        // fails once per address and one that always fails, two duplicates and three bad envelopes
        Map<String, AtomicInteger> flakyCalls = new ConcurrentHashMap<>();
        server.route("order", StatefunMetricsTest::order)
                .route("inventory", StatefunMetricsTest::inventory)
                .route("flaky", call -> {
                    if (flakyCalls
                                    .computeIfAbsent(call.id(), k -> new AtomicInteger())
                                    .incrementAndGet()
                            == 1) {
                        return new FunctionServer.Reply(503, "{}");
                    }
                    ObjectNode reply = response(null);
                    egress(reply, "order-events", call.id(), "Done", object());
                    return FunctionServer.Reply.ok(reply);
                })
                .route("broken", call -> new FunctionServer.Reply(500, "{}"));
        ModuleDefinition module = TestJobs.module(
                server,
                2,
                5000,
                List.of("order", "inventory", "flaky", "broken"),
                List.of(
                        new String[] {"PlaceOrder", "order"},
                        new String[] {"CancelOrder", "order"},
                        new String[] {"Flaky", "flaky"},
                        new String[] {"Break", "broken"}),
                List.of("order-events"));
        List<String> envelopes = List.of(
                envelope("p1", "PlaceOrder", "order-1", object().put("sku", "sku-1")),
                envelope("p2", "PlaceOrder", "order-2", object().put("sku", "sku-2")),
                envelope("c9", "CancelOrder", "order-9", object()),
                envelope("f1", "Flaky", "a", object()),
                envelope("f2", "Flaky", "b", object()),
                envelope("b1", "Break", "k1", object()),
                envelope("u1", "ShipOrder", "order-1", object()),
                // a redelivered envelope, and one reusing an eventId with other content: duplicates, not applied
                envelope("p1", "PlaceOrder", "order-1", object().put("sku", "sku-1")),
                envelope("f1", "Flaky", "a", object().put("again", true)),
                "{not json",
                "{\"eventId\":\"s1\",\"type\":\"PlaceOrder\",\"occurredAt\":\"2026-11-29T08:00:00Z\",\"payload\":{}}");

        // WHEN
        TestJobs.Result result = TestJobs.runBounded(
                envelopes, DispatcherConfig.builder(module).backoff(5, 20).build(), 2);
        ReportedMetrics metrics = new ReportedMetrics(REPORTER, result.jobId());

        // THEN the counters match the outputs and the function server's view
        long received = metrics.counter(StatefunMetrics.MESSAGES_RECEIVED);
        long feedback = metrics.counter(StatefunMetrics.FEEDBACK_MESSAGES);
        long applied = metrics.counter(StatefunMetrics.MESSAGES_APPLIED);
        long deadLettered = metrics.counter(StatefunMetrics.MESSAGES_DEAD_LETTERED);
        assertThat(received).isEqualTo(envelopes.size());
        // 2 orders x (inventory + ghost) + 2 inventory answers
        assertThat(feedback).isEqualTo(6);
        // p1, p2, f1, f2, two ReserveStock, two StockReserved
        assertThat(applied).isEqualTo(8);
        long duplicates = metrics.counter(StatefunMetrics.INGRESS_DUPLICATES);
        assertThat(duplicates).isEqualTo(2);
        assertThat(metrics.counter(StatefunMetrics.INGRESS_DUPLICATE_CONFLICTS)).isEqualTo(1);
        assertThat(received + feedback)
                .as("received + feedback = applied + dead-lettered + duplicates")
                .isEqualTo(applied + deadLettered + duplicates);

        Map<String, Long> reasonsWritten = result.deadLetters().stream()
                .collect(Collectors.groupingBy(d -> d.get("reason").asText(), Collectors.counting()));
        assertThat(reasonsWritten)
                .containsOnly(
                        Map.entry("MALFORMED_JSON", 1L),
                        Map.entry("SCHEMA", 1L),
                        Map.entry("UNKNOWN_EVENT_TYPE", 1L),
                        Map.entry("REJECTED", 1L),
                        Map.entry("HTTP_STATUS", 1L),
                        Map.entry("UNKNOWN_FUNCTION", 2L),
                        Map.entry("UNKNOWN_EGRESS", 2L));
        reasonsWritten.forEach(
                (reason, count) -> assertThat(metrics.counter(StatefunMetrics.DEAD_LETTER_REASON + "." + reason))
                        .as(reason)
                        .isEqualTo(count));
        // Reasons that did not occur are registered at 0, so alarms on them have data.
        assertThat(metrics.counter(StatefunMetrics.DEAD_LETTER_REASON + ".TIMEOUT"))
                .isZero();
        assertThat(metrics.counter(StatefunMetrics.DEAD_LETTER_REASON + ".UNREACHABLE"))
                .isZero();
        // Every dead letter but the unknown-egress entries is a message that was not applied.
        assertThat(deadLettered).isEqualTo(result.deadLetters().size() - reasonsWritten.get("UNKNOWN_EGRESS"));

        assertThat(metrics.counter(StatefunMetrics.FUNCTION_CALLS))
                .isEqualTo(server.calls().size());
        // flaky/a and flaky/b failed once each, broken/k1 failed its first of two attempts
        assertThat(metrics.counter(StatefunMetrics.FUNCTION_CALL_RETRIES)).isEqualTo(3);
        assertThat(metrics.counter(StatefunMetrics.EGRESS_RECORDS))
                .isEqualTo(result.egressRecords().size())
                .isEqualTo(8);

        // The gauges are registered per dispatcher subtask and read 0 once the work is done.
        assertThat(metrics.gauge(StatefunMetrics.IN_FLIGHT_CALLS))
                .hasSize(2)
                .allSatisfy((scope, v) -> assertThat(v).isEqualTo(0));
        assertThat(metrics.gauge(StatefunMetrics.BUFFERED_ADDRESSES))
                .hasSize(2)
                .allSatisfy((scope, v) -> assertThat(v).isEqualTo(0));
    }
}
