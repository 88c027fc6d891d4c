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
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** End-to-end behaviour of the runtime on a MiniCluster against a real local HTTP function server. */
// Guards against a hung job only; no assertion depends on timing.
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StatefulFunctionsRuntimeTest {

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER =
            new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(4)
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

    /** Appends payload.v to state.values and emits one egress record per message. */
    private static FunctionServer.Reply appendFunction(FunctionServer.Call call) throws InterruptedException {
        // A little jitter makes calls overlap and messages pile up behind in-flight calls.
        Thread.sleep(ThreadLocalRandom.current().nextInt(3));
        ObjectNode state =
                call.state() == null ? object() : (ObjectNode) call.state().deepCopy();
        var values = state.has("values")
                ? (com.fasterxml.jackson.databind.node.ArrayNode) state.get("values")
                : state.putArray("values");
        ObjectNode reply = response(state);
        for (JsonNode message : call.messages()) {
            values.add(message.at("/payload/v").asInt());
            egress(
                    reply,
                    "seq-events",
                    call.id(),
                    "Appended",
                    object().put("v", message.at("/payload/v").asInt()).put("size", values.size()));
        }
        return FunctionServer.Reply.ok(reply);
    }

    @Test
    void keepsPerAddressOrderWhileCallingManyAddressesConcurrently() throws Exception {
        // GIVEN 40 addresses, 25 messages each, interleaved, 2 subtasks, at most 4 concurrent calls per subtask
        server.route("seq", StatefulFunctionsRuntimeTest::appendFunction);
        ModuleDefinition module = TestJobs.module(
                server,
                3,
                5000,
                List.of("seq"),
                List.<String[]>of(new String[] {"Append", "seq"}),
                List.of("seq-events"));
        int addresses = 40;
        int perAddress = 25;
        List<String> envelopes = new ArrayList<>();
        for (int v = 0; v < perAddress; v++) {
            for (int a = 0; a < addresses; a++) {
                envelopes.add(envelope("e-" + a + "-" + v, "Append", "s" + a, object().put("v", v)));
            }
        }

        // WHEN
        TestJobs.Result result = TestJobs.runBounded(
                envelopes,
                DispatcherConfig.builder(module).maxConcurrentCalls(4).build(),
                2);

        // THEN every address saw its messages exactly once, in input order
        assertThat(result.deadLetters()).isEmpty();
        assertThat(server.overlaps()).as("concurrent calls for one address").isEmpty();
        Map<String, List<JsonNode>> byAddress = result.egress("seq-events").stream()
                .collect(Collectors.groupingBy(
                        e -> e.get("aggregateId").asText(), LinkedHashMap::new, Collectors.toList()));
        assertThat(byAddress).hasSize(addresses);
        List<Integer> expected =
                java.util.stream.IntStream.range(0, perAddress).boxed().toList();
        for (int a = 0; a < addresses; a++) {
            List<JsonNode> records = byAddress.get("s" + a);
            records.sort(Comparator.comparingLong(r -> r.get("sequence").asLong()));
            assertThat(records)
                    .extracting(r -> r.get("sequence").asLong())
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, perAddress)
                            .boxed()
                            .toList());
            assertThat(records).extracting(r -> r.at("/payload/v").asInt()).containsExactlyElementsOf(expected);
            assertThat(records)
                    .extracting(r -> r.at("/payload/size").asInt())
                    .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, perAddress)
                            .boxed()
                            .toList());
            assertThat(records).allSatisfy(r -> {
                assertThat(r.get("eventId").asText())
                        .isEqualTo("seq/s" + r.get("aggregateId").asText().substring(1) + "/"
                                + r.get("sequence").asLong());
                assertThat(r.get("aggregateType").asText()).isEqualTo("seq");
                assertThat(r.get("type").asText()).isEqualTo("Appended");
                assertThat(r.get("occurredAt").isIntegralNumber()).isTrue();
            });
            // stateVersion counts applied calls: 0, 1, 2, ... with the state of the previous call
            List<FunctionServer.Call> calls = server.calls("seq/s" + a);
            assertThat(calls)
                    .extracting(FunctionServer.Call::stateVersion)
                    .containsExactlyElementsOf(java.util.stream.LongStream.range(0, calls.size())
                            .boxed()
                            .toList());
            assertThat(calls.stream().mapToInt(c -> c.messages().size()).sum()).isEqualTo(perAddress);
        }
    }

    @Test
    void sendsMessagesThatArriveDuringACallTogetherInTheNextCall() throws Exception {
        // GIVEN the first call for batch/b1 is held until the call for batch/z arrives; z's envelope comes after
        // b1's remaining messages on the same channel, so those are buffered by then
        CountDownLatch zCalled = new CountDownLatch(1);
        server.route("batch", call -> {
            if (call.id().equals("z")) {
                zCalled.countDown();
            } else if (call.stateVersion() == 0 && !zCalled.await(60, TimeUnit.SECONDS)) {
                return new FunctionServer.Reply(500, "{}");
            }
            return appendFunction(call);
        });
        ModuleDefinition module = TestJobs.module(
                server,
                1,
                60_000,
                List.of("batch"),
                List.<String[]>of(new String[] {"Append", "batch"}),
                List.of("seq-events"));
        List<String> envelopes = new ArrayList<>();
        for (int v = 0; v < 5; v++) {
            envelopes.add(envelope("b-" + v, "Append", "b1", object().put("v", v)));
        }
        envelopes.add(envelope("z-0", "Append", "z", object().put("v", 0)));

        // WHEN
        TestJobs.Result result =
                TestJobs.runBounded(envelopes, DispatcherConfig.builder(module).build(), 1);

        // THEN b1 was called twice: first with message 0, then with messages 1..4 and the state after message 0
        assertThat(result.deadLetters()).isEmpty();
        List<FunctionServer.Call> calls = server.calls("batch/b1");
        assertThat(calls).hasSize(2);
        assertThat(calls.get(0).messages())
                .extracting(m -> m.get("id").asText())
                .containsExactly("b-0");
        assertThat(calls.get(1).stateVersion()).isEqualTo(1);
        assertThat(calls.get(1).state().get("values").toString()).isEqualTo("[0]");
        assertThat(calls.get(1).messages())
                .extracting(m -> m.get("id").asText())
                .containsExactly("b-1", "b-2", "b-3", "b-4");
        assertThat(calls.get(1).messages()).allSatisfy(m -> {
            assertThat(m.get("type").asText()).isEqualTo("Append");
            assertThat(m.get("from").isNull()).isTrue();
        });
        assertThat(result.egress("seq-events"))
                .filteredOn(e -> e.get("aggregateId").asText().equals("b1"))
                .extracting(e -> e.at("/payload/v").asInt())
                .containsExactly(0, 1, 2, 3, 4);
    }

    /** order: PlaceOrder reserves stock at inventory/sku; StockReserved/StockRejected settle it; CancelOrder needs an order. */
    private static FunctionServer.Reply orderFunction(FunctionServer.Call call) {
        ObjectNode state =
                call.state() == null ? null : (ObjectNode) call.state().deepCopy();
        ObjectNode reply = response(null);
        for (JsonNode message : call.messages()) {
            String type = message.get("type").asText();
            JsonNode payload = message.get("payload");
            switch (type) {
                case "PlaceOrder" -> {
                    state = object().put("status", "PENDING")
                            .put("sku", payload.get("sku").asText())
                            .put("qty", payload.get("qty").asInt());
                    send(
                            reply,
                            "inventory",
                            payload.get("sku").asText(),
                            "ReserveStock",
                            object().put("orderId", call.id())
                                    .put("qty", payload.get("qty").asInt()));
                    egress(
                            reply,
                            "order-events",
                            call.id(),
                            "OrderPlaced",
                            object().put("sku", payload.get("sku").asText()));
                }
                case "StockReserved" -> {
                    state.put("status", "CONFIRMED");
                    egress(reply, "order-events", call.id(), "OrderConfirmed", object());
                }
                case "StockRejected" -> {
                    state.put("status", "CANCELLED");
                    egress(reply, "order-events", call.id(), "OrderCancelled", object().put("why", "out of stock"));
                }
                case "CancelOrder" -> {
                    if (state == null) {
                        reject(reply, message.get("id").asText(), "unknown order " + call.id());
                    } else {
                        state.put("status", "CANCELLED");
                    }
                }
                default -> reject(reply, message.get("id").asText(), "unsupported message type " + type);
            }
        }
        reply.set("state", state);
        return FunctionServer.Reply.ok(reply);
    }

    /** inventory: starts with 5 units per SKU; reserves stock for orders and answers them. */
    private static FunctionServer.Reply inventoryFunction(FunctionServer.Call call) {
        int available = call.state() == null ? 5 : call.state().get("available").asInt();
        ObjectNode reply = response(null);
        for (JsonNode message : call.messages()) {
            String orderId = message.at("/payload/orderId").asText();
            int qty = message.at("/payload/qty").asInt();
            if (qty <= available) {
                available -= qty;
                send(reply, "order", orderId, "StockReserved", object());
            } else {
                send(reply, "order", orderId, "StockRejected", object());
            }
            egress(reply, "inventory-events", call.id(), "StockChanged", object().put("available", available));
        }
        reply.set("state", object().put("available", available));
        return FunctionServer.Reply.ok(reply);
    }

    @Test
    void routesFunctionToFunctionMessagesAndDeadLettersBadInputWithReasons() throws Exception {
        // GIVEN two orders competing for 5 units of sku-1, one for sku-2, a cancel for an unknown order, and bad input
        server.route("order", StatefulFunctionsRuntimeTest::orderFunction)
                .route("inventory", StatefulFunctionsRuntimeTest::inventoryFunction);
        ModuleDefinition module = TestJobs.module(
                server,
                3,
                5000,
                List.of("order", "inventory"),
                List.of(new String[] {"PlaceOrder", "order"}, new String[] {"CancelOrder", "order"}),
                List.of("order-events", "inventory-events"));
        List<String> envelopes = List.of(
                envelope(
                        "p1",
                        "PlaceOrder",
                        "order-1",
                        object().put("sku", "sku-1").put("qty", 3)),
                envelope(
                        "p2",
                        "PlaceOrder",
                        "order-2",
                        object().put("sku", "sku-1").put("qty", 3)),
                envelope(
                        "p3",
                        "PlaceOrder",
                        "order-3",
                        object().put("sku", "sku-2").put("qty", 1)),
                envelope("c9", "CancelOrder", "order-9", object()),
                envelope("u1", "ShipOrder", "order-1", object()),
                "{not json",
                "{\"eventId\":\"s1\",\"type\":\"PlaceOrder\",\"occurredAt\":\"2026-11-29T08:00:00Z\",\"payload\":{}}");

        // WHEN
        TestJobs.Result result =
                TestJobs.runBounded(envelopes, DispatcherConfig.builder(module).build(), 2);

        // THEN the orders were settled through inventory: exactly one of order-1/order-2 got the stock
        Map<String, List<String>> orderEvents = new LinkedHashMap<>();
        result.egress("order-events").stream()
                .sorted(Comparator.comparingLong(e -> e.get("sequence").asLong()))
                .forEach(e -> orderEvents
                        .computeIfAbsent(e.get("aggregateId").asText(), k -> new ArrayList<>())
                        .add(e.get("type").asText()));
        assertThat(orderEvents.get("order-3")).containsExactly("OrderPlaced", "OrderConfirmed");
        assertThat(List.of(orderEvents.get("order-1"), orderEvents.get("order-2")))
                .containsExactlyInAnyOrder(
                        List.of("OrderPlaced", "OrderConfirmed"), List.of("OrderPlaced", "OrderCancelled"));
        List<JsonNode> sku1 = result.egress("inventory-events").stream()
                .filter(e -> e.get("aggregateId").asText().equals("sku-1"))
                .sorted(Comparator.comparingLong(e -> e.get("sequence").asLong()))
                .toList();
        assertThat(sku1).extracting(e -> e.at("/payload/available").asInt()).containsExactly(2, 2);

        // the inventory got messages "from" the orders, with deterministic ids
        List<JsonNode> inventoryMessages = server.calls().stream()
                .filter(c -> c.type().equals("inventory"))
                .flatMap(c -> c.messages().stream())
                .toList();
        assertThat(inventoryMessages)
                .extracting(m -> m.get("from").get("type").asText() + "/"
                        + m.get("from").get("id").asText() + " " + m.get("id").asText())
                .containsExactlyInAnyOrder(
                        "order/order-1 order/order-1/1",
                        "order/order-2 order/order-2/1",
                        "order/order-3 order/order-3/1");

        // and bad input was dead-lettered with its reason
        Map<String, String> reasons = new LinkedHashMap<>();
        for (JsonNode d : result.deadLetters()) {
            assertThat(d.get("stage").asText()).isEqualTo("stateful-functions");
            assertThat(d.get("at").isIntegralNumber()).isTrue();
            reasons.put(
                    d.get("payload").asText(),
                    d.get("reason").asText() + ": " + d.get("detail").asText());
        }
        assertThat(reasons).hasSize(4);
        assertThat(reasons.get("{not json")).startsWith("MALFORMED_JSON");
        assertThat(reasons.entrySet()).anySatisfy(e -> {
            assertThat(e.getKey()).contains("\"s1\"");
            assertThat(e.getValue()).isEqualTo("SCHEMA: envelope needs a non-empty string 'aggregateId'");
        });
        assertThat(reasons.entrySet()).anySatisfy(e -> {
            assertThat(e.getKey()).contains("\"u1\"");
            assertThat(e.getValue()).isEqualTo("UNKNOWN_EVENT_TYPE: no ingress route for event type 'ShipOrder'");
        });
        assertThat(reasons.entrySet()).anySatisfy(e -> {
            JsonNode payload = TestJobs.read(e.getKey());
            assertThat(payload.at("/message/id").asText()).isEqualTo("c9");
            assertThat(payload.at("/address/id").asText()).isEqualTo("order-9");
            assertThat(e.getValue()).isEqualTo("REJECTED: unknown order order-9");
        });

        // received = applied + dead-lettered, for envelopes: 4 reached a function (1 of them rejected), 3 never did
        Set<String> deliveredIds = server.calls().stream()
                .flatMap(c -> c.messages().stream())
                .map(m -> m.get("id").asText())
                .filter(id -> !id.contains("/"))
                .collect(Collectors.toSet());
        assertThat(deliveredIds).containsExactlyInAnyOrder("p1", "p2", "p3", "c9");
        long rejected = result.deadLetters().stream()
                .filter(d -> d.get("reason").asText().equals("REJECTED"))
                .count();
        long ingressDead = result.deadLetters().size() - rejected;
        assertThat((deliveredIds.size() - rejected) + result.deadLetters().size())
                .isEqualTo(envelopes.size());
        assertThat(ingressDead).isEqualTo(3);
    }

    @Test
    void aDuplicatedCommandIsAppliedOnceAndNotDeadLettered() throws Exception {
        // GIVEN a PlaceOrder delivered three times with one eventId (the third with another quantity: a conflict, the
        // first wins), a second order for the same stock, and an additive command (Append) delivered twice
        server.route("order", StatefulFunctionsRuntimeTest::orderFunction)
                .route("inventory", StatefulFunctionsRuntimeTest::inventoryFunction)
                .route("seq", StatefulFunctionsRuntimeTest::appendFunction);
        ModuleDefinition module = TestJobs.module(
                server,
                3,
                5000,
                List.of("order", "inventory", "seq"),
                List.of(new String[] {"PlaceOrder", "order"}, new String[] {"Append", "seq"}),
                List.of("order-events", "inventory-events", "seq-events"));
        String placeOrder1 = envelope(
                "p1", "PlaceOrder", "order-1", object().put("sku", "sku-1").put("qty", 2));
        List<String> envelopes = List.of(
                placeOrder1,
                envelope("a1", "Append", "s1", object().put("v", 1)),
                placeOrder1,
                envelope("a1", "Append", "s1", object().put("v", 1)),
                envelope(
                        "p1",
                        "PlaceOrder",
                        "order-1",
                        object().put("sku", "sku-1").put("qty", 4)),
                envelope("a2", "Append", "s1", object().put("v", 2)),
                envelope(
                        "p2",
                        "PlaceOrder",
                        "order-2",
                        object().put("sku", "sku-1").put("qty", 2)));

        // WHEN
        TestJobs.Result result =
                TestJobs.runBounded(envelopes, DispatcherConfig.builder(module).build(), 2);

        // THEN nothing was dead-lettered, p1 reached order-1 once, with the first envelope's quantity
        assertThat(result.deadLetters()).isEmpty();
        List<JsonNode> p1 = server.calls("order/order-1").stream()
                .flatMap(c -> c.messages().stream())
                .filter(m -> m.get("id").asText().equals("p1"))
                .toList();
        assertThat(p1)
                .singleElement()
                .satisfies(m -> assertThat(m.at("/payload/qty").asInt()).isEqualTo(2));
        // the stock was reserved once per order: 5 - 2 - 2, both orders confirmed
        assertThat(result.egress("inventory-events").stream()
                        .sorted(Comparator.comparingLong(e -> e.get("sequence").asLong()))
                        .map(e -> e.at("/payload/available").asInt()))
                .containsExactly(3, 1);
        for (String order : List.of("order-1", "order-2")) {
            assertThat(result.egress("order-events").stream()
                            .filter(e -> e.get("aggregateId").asText().equals(order))
                            .sorted(Comparator.comparingLong(
                                    e -> e.get("sequence").asLong()))
                            .map(e -> e.get("type").asText()))
                    .as(order)
                    .containsExactly("OrderPlaced", "OrderConfirmed");
        }
        // and the additive command was added once
        assertThat(result.egress("seq-events").stream()
                        .sorted(Comparator.comparingLong(e -> e.get("sequence").asLong()))
                        .map(e -> e.at("/payload/v").asInt() + "@"
                                + e.at("/payload/size").asInt()))
                .containsExactly("1@1", "2@2");
    }

    @Test
    void retriesFailedCallsWithBackoffUntilTheySucceed() throws Exception {
        // GIVEN a function that answers 503 to the first two calls per address
        Map<String, AtomicInteger> callsPerAddress = new ConcurrentHashMap<>();
        server.route("flaky", call -> {
            if (callsPerAddress
                            .computeIfAbsent(call.id(), k -> new AtomicInteger())
                            .incrementAndGet()
                    <= 2) {
                return new FunctionServer.Reply(503, "{\"message\":\"Service Unavailable\"}");
            }
            return appendFunction(call);
        });
        ModuleDefinition module = TestJobs.module(
                server,
                3,
                5000,
                List.of("flaky"),
                List.<String[]>of(new String[] {"Append", "flaky"}),
                List.of("seq-events"));
        List<String> envelopes = List.of(
                envelope("f1", "Append", "a", object().put("v", 1)),
                envelope("f2", "Append", "b", object().put("v", 2)));

        // WHEN
        TestJobs.Result result = TestJobs.runBounded(
                envelopes, DispatcherConfig.builder(module).backoff(5, 50).build(), 1);

        // THEN each batch took three attempts with the same stateVersion and messages, then was applied once
        assertThat(result.deadLetters()).isEmpty();
        for (String id : List.of("a", "b")) {
            List<FunctionServer.Call> calls = server.calls("flaky/" + id);
            assertThat(calls).hasSize(3);
            assertThat(calls).extracting(FunctionServer.Call::stateVersion).containsOnly(0L);
            assertThat(calls)
                    .extracting(c -> c.messages().toString())
                    .containsOnly(calls.get(0).messages().toString());
        }
        assertThat(result.egress("seq-events"))
                .extracting(e ->
                        e.get("aggregateId").asText() + ":" + e.get("sequence").asLong())
                .containsExactlyInAnyOrder("a:1", "b:1");
    }

    @Test
    void deadLettersTheBatchWithItsReasonWhenAttemptsAreExhausted() throws Exception {
        // GIVEN one function that always fails with 500 and one that never answers within its timeout
        CountDownLatch release = new CountDownLatch(1);
        server.route("broken", call -> new FunctionServer.Reply(500, "{\"message\":\"boom\"}"));
        server.route("stuck", call -> {
            release.await(60, TimeUnit.SECONDS);
            return FunctionServer.Reply.ok(response(null));
        });
        ObjectNode moduleJson = object();
        moduleJson
                .putObject("functions")
                .<ObjectNode>set(
                        "broken",
                        object().put("endpoint", server.endpoint("broken"))
                                .put("timeoutMs", 5000)
                                .put("maxAttempts", 3))
                .set(
                        "stuck",
                        object().put("endpoint", server.endpoint("stuck"))
                                .put("timeoutMs", 300)
                                .put("maxAttempts", 2));
        moduleJson
                .putArray("ingress")
                .add(object().put("eventType", "Break").put("functionType", "broken"))
                .add(object().put("eventType", "Hang").put("functionType", "stuck"));
        ModuleDefinition module = ModuleDefinition.parse(moduleJson.toString(), 5000);
        List<String> envelopes = List.of(
                envelope("x1", "Break", "k1", object().put("v", 1)),
                envelope("x2", "Break", "k2", object().put("v", 2)),
                envelope("x3", "Hang", "k3", object().put("v", 3)));

        // WHEN
        TestJobs.Result result;
        try {
            result = TestJobs.runBounded(
                    envelopes, DispatcherConfig.builder(module).backoff(5, 20).build(), 1);
        } finally {
            release.countDown();
        }

        // THEN nothing was applied, every message was dead-lettered with its reason after all attempts
        assertThat(result.egressRecords()).isEmpty();
        Map<String, JsonNode> byMessage = new LinkedHashMap<>();
        for (JsonNode d : result.deadLetters()) {
            byMessage.put(
                    TestJobs.read(d.get("payload").asText()).at("/message/id").asText(), d);
        }
        assertThat(byMessage).containsOnlyKeys("x1", "x2", "x3");
        assertThat(byMessage.get("x1").get("reason").asText()).isEqualTo("HTTP_STATUS");
        assertThat(byMessage.get("x1").get("detail").asText()).startsWith("after 3 attempt(s): HTTP 500");
        assertThat(byMessage.get("x3").get("reason").asText()).isEqualTo("TIMEOUT");
        assertThat(byMessage.get("x3").get("detail").asText()).startsWith("after 2 attempt(s)");
        assertThat(server.calls("broken/k1")).hasSize(3);
        assertThat(server.calls("broken/k2")).hasSize(3);
        assertThat(server.calls("stuck/k3")).hasSize(2);
        // received = applied (0) + dead-lettered
        assertThat(result.deadLetters()).hasSize(envelopes.size());
    }

    /** Bytes the sink would put for a record: its JSON plus its partition key, in UTF-8. */
    private static long kinesisSize(String json, String partitionKey) {
        return json.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                + partitionKey.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    @Test
    void anEgressRecordOverTheKinesisLimitMakesTheResponseInvalidAndLeavesStateAndSequenceUnchanged() throws Exception {
        // GIVEN a function that answers "Big" with an egress record of more than 1 MiB and "Small" with a small one
        int max = (int) FunctionResponse.MAX_RECORD_BYTES;
        server.route("acct", call -> {
            ObjectNode state = object().put(
                            "applied",
                            (call.state() == null
                                            ? 0
                                            : call.state().get("applied").asInt())
                                    + call.messages().size());
            ObjectNode reply = response(state);
            for (JsonNode message : call.messages()) {
                String text = message.get("type").asText().equals("Big") ? "b".repeat(max) : "small";
                egress(reply, "acct-events", call.id(), "Done", object().put("text", text));
            }
            return FunctionServer.Reply.ok(reply);
        });
        ModuleDefinition module = TestJobs.module(
                server,
                2,
                5000,
                List.of("acct"),
                List.<String[]>of(new String[] {"Big", "acct"}, new String[] {"Small", "acct"}),
                List.of("acct-events"));
        List<String> envelopes = List.of(
                envelope("big-1", "Big", "a1", object()),
                envelope("small-1", "Small", "a1", object()),
                envelope("small-2", "Small", "a2", object()));

        // WHEN
        TestJobs.Result result = TestJobs.runBounded(
                envelopes, DispatcherConfig.builder(module).backoff(5, 20).build(), 1);

        // THEN the big one was tried maxAttempts times, never applied, and dead-lettered with the reason
        List<JsonNode> dead = result.deadLetters();
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).get("reason").asText()).isEqualTo("INVALID_RESPONSE");
        assertThat(dead.get(0).get("detail").asText())
                .startsWith("after 2 attempt(s): egress[0] record for egress 'acct-events' is ")
                .contains("over the Kinesis record limit of " + max);
        assertThat(TestJobs.read(dead.get(0).get("payload").asText())
                        .at("/message/id")
                        .asText())
                .isEqualTo("big-1");
        List<FunctionServer.Call> calls = server.calls("acct/a1");
        assertThat(calls).extracting(FunctionServer.Call::stateVersion).containsExactly(0L, 0L, 0L);
        assertThat(calls.get(2).state())
                .as("state after the invalid response is unchanged")
                .isNull();
        // Only records that fit were written, and a1's sequence did not count the rejected record.
        assertThat(result.egressRecords())
                .allSatisfy(r -> assertThat(kinesisSize(r.json, r.partitionKey)).isLessThanOrEqualTo(max));
        assertThat(result.egress("acct-events"))
                .extracting(e ->
                        e.get("aggregateId").asText() + ":" + e.get("sequence").asLong() + ":"
                                + e.at("/payload/text").asText())
                .containsExactlyInAnyOrder("a1:1:small", "a2:1:small");
        // received (3) = applied (2) + dead-lettered (1)
        assertThat(result.egressRecords().size() + dead.size()).isEqualTo(envelopes.size());
    }

    @Test
    void deadLettersOfRecordsNearOneMebibyteAreCutToFitTheKinesisLimit() throws Exception {
        // GIVEN an unroutable envelope just under 1 MiB whose quotes double in size when escaped into the payload,
        // and a function that rejects a message with a reason of over 1 MiB
        int max = (int) FunctionResponse.MAX_RECORD_BYTES;
        server.route("acct", call -> {
            ObjectNode reply = response(null);
            for (JsonNode message : call.messages()) {
                reject(reply, message.get("id").asText(), "r".repeat(max + 10));
            }
            return FunctionServer.Reply.ok(reply);
        });
        ModuleDefinition module = TestJobs.module(
                server,
                1,
                5000,
                List.of("acct"),
                List.<String[]>of(new String[] {"Open", "acct"}),
                List.of("acct-events"));
        ObjectNode quotes = object();
        quotes.put("q", "\"".repeat((max - 400) / 2)); // escaped: 2 bytes each in the envelope, 4 in a dead letter
        String unroutable = envelope("lost-1", "Nowhere", "a9", quotes);
        assertThat(unroutable.getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
                .isLessThan(max);
        ObjectNode bigPayload = object();
        bigPayload.put("text", "\"".repeat(max / 2));
        List<String> envelopes = List.of(unroutable, envelope("open-1", "Open", "a1", bigPayload));

        // WHEN
        TestJobs.Result result =
                TestJobs.runBounded(envelopes, DispatcherConfig.builder(module).build(), 1);

        // THEN both are dead-lettered with their reason, cut to fit, never dropped
        assertThat(result.egressRecords()).isEmpty();
        assertThat(result.deadLetterRecords()).hasSize(envelopes.size());
        Map<String, JsonNode> byReason = new LinkedHashMap<>();
        for (DeadLetterRecord record : result.deadLetterRecords()) {
            long size = kinesisSize(TestJobs.json(record), record.partitionKey);
            assertThat(size)
                    .as(record.reason + " fits a Kinesis record")
                    .isLessThanOrEqualTo(max)
                    .isGreaterThan(max - 16);
            JsonNode letter = TestJobs.read(TestJobs.json(record));
            assertThat(letter.get("truncated").asBoolean())
                    .as(record.reason + " is marked truncated")
                    .isTrue();
            byReason.put(letter.get("reason").asText(), letter);
        }
        assertThat(byReason).containsOnlyKeys("UNKNOWN_EVENT_TYPE", "REJECTED");
        assertThat(unroutable)
                .startsWith(byReason.get("UNKNOWN_EVENT_TYPE").get("payload").asText());
        assertThat(byReason.get("UNKNOWN_EVENT_TYPE").get("payload").asText().length())
                .isGreaterThan(max / 3);
        assertThat(byReason.get("REJECTED").get("detail").asText()).hasSize(DeadLetterRecord.MAX_DETAIL_CHARS_WHEN_CUT);
        assertThat(byReason.get("REJECTED").get("payload").asText())
                .startsWith("{\"address\":{\"type\":\"acct\",\"id\":\"a1\"}");
    }

    @Test
    void exportsFunctionStateAsJsonLines(@org.junit.jupiter.api.io.TempDir java.nio.file.Path exportDir)
            throws Exception {
        // s3rver is not installed in /work/main/node_modules, so the export is checked with the directory target,
        // which shares everything but the final PutObject with the S3 target.
        server.route("seq", StatefulFunctionsRuntimeTest::appendFunction);
        ModuleDefinition module = TestJobs.module(
                server,
                3,
                5000,
                List.of("seq"),
                List.<String[]>of(new String[] {"Append", "seq"}),
                List.of("seq-events"));
        List<String> envelopes = new ArrayList<>();
        for (int v = 0; v < 3; v++) {
            envelopes.add(envelope("a" + v, "Append", "a", object().put("v", v)));
        }
        envelopes.add(envelope("b0", "Append", "b/with-slash", object().put("v", 7)));
        DispatcherConfig config = DispatcherConfig.builder(module)
                .stateExport(StateExportConfig.toDirectory(exportDir.toString(), "/exports/", 3_600_000))
                .build();

        TestJobs.run(
                config,
                1,
                env -> env.fromData(
                        envelopes.stream()
                                .map(s -> s.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                                .toList(),
                        org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));

        List<java.nio.file.Path> files;
        try (var walk = java.nio.file.Files.walk(exportDir)) {
            files = walk.filter(java.nio.file.Files::isRegularFile).toList();
        }
        assertThat(files).hasSize(1);
        assertThat(exportDir.relativize(files.get(0)).toString()).matches("exports/\\d+/subtask-0\\.jsonl");
        Map<String, JsonNode> lines = new LinkedHashMap<>();
        for (String line : java.nio.file.Files.readAllLines(files.get(0))) {
            JsonNode node = TestJobs.read(line);
            lines.put(
                    node.at("/address/type").asText() + "/"
                            + node.at("/address/id").asText(),
                    node);
        }
        assertThat(lines).containsOnlyKeys("seq/a", "seq/b/with-slash");
        assertThat(lines.get("seq/a").get("stateVersion").asLong())
                .isEqualTo(server.calls("seq/a").size());
        assertThat(lines.get("seq/a").at("/state/values").toString()).isEqualTo("[0,1,2]");
        assertThat(lines.get("seq/b/with-slash").get("stateVersion").asLong()).isEqualTo(1);
        assertThat(lines.get("seq/b/with-slash").at("/state/values").toString()).isEqualTo("[7]");
    }
}
