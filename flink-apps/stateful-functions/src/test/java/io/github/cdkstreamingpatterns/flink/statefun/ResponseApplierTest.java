package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class ResponseApplierTest {
    private static final ModuleDefinition MODULE = ModuleDefinition.parse("""
            {"functions":{"order":{"endpoint":"http://127.0.0.1:1/order"},"inventory":{"endpoint":"http://127.0.0.1:1/inventory"}},
             "ingress":[{"eventType":"PlaceOrder","functionType":"order"}],
             "egress":{"order-events":{"streamArn":"arn:aws:kinesis:eu-west-1:123456789012:stream/order-events"}}}
            """, 5000);
    private static final ResponseApplier APPLIER = new ResponseApplier(MODULE);
    private static final String BATCH = "[{\"id\":\"e-1\",\"type\":\"PlaceOrder\",\"from\":null,\"payload\":{\"n\":1}},"
            + "{\"id\":\"order/o-0/4\",\"type\":\"Ping\",\"from\":{\"type\":\"order\",\"id\":\"o-0\"},\"payload\":{}}]";

    private static FunctionResponse response(String json) {
        return FunctionResponse.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static JsonNode json(DeadLetterRecord d) {
        return Json.read(new String(d.toJson(DeadLetters.ENCODING), StandardCharsets.UTF_8));
    }

    @Test
    void appliesStateMessagesAndEgressNumberedAfterWhatTheAddressEmittedBefore() {
        ResponseApplier.StateTransition t = APPLIER.apply("order/o-1", 4, BATCH, response("""
                {"state":{"total":3},
                 "messages":[{"to":{"type":"inventory","id":"sku-1"},"type":"Reserve","payload":{"q":2}}],
                 "egress":[{"egress":"order-events","partitionKey":"o-1","type":"OrderPlaced","payload":{"total":3}},
                           {"egress":"order-events","partitionKey":"o-1","type":"OrderPriced","payload":{}}]}
                """), 10, 7, 1234L);

        assertThat(t.failure).isNull();
        assertThat(t.state).isEqualTo("{\"total\":3}");
        assertThat(t.stateVersion).isEqualTo(5);
        assertThat(t.messageSequence).isEqualTo(8);
        assertThat(t.egressSequence).isEqualTo(12);
        assertThat(t.feedback).singleElement().satisfies(m -> {
            assertThat(m.addressKey()).isEqualTo("inventory/sku-1");
            assertThat(m.messageId).isEqualTo("order/o-1/8");
            assertThat(m.messageJson)
                    .isEqualTo(
                            "{\"id\":\"order/o-1/8\",\"type\":\"Reserve\",\"from\":{\"type\":\"order\",\"id\":\"o-1\"},\"payload\":{\"q\":2}}");
        });
        assertThat(t.egress)
                .extracting(e -> e.json)
                .containsExactly(
                        "{\"eventId\":\"order/o-1/11\",\"type\":\"OrderPlaced\",\"aggregateType\":\"order\",\"aggregateId\":\"o-1\","
                                + "\"sequence\":11,\"occurredAt\":1234,\"payload\":{\"total\":3}}",
                        "{\"eventId\":\"order/o-1/12\",\"type\":\"OrderPriced\",\"aggregateType\":\"order\",\"aggregateId\":\"o-1\","
                                + "\"sequence\":12,\"occurredAt\":1234,\"payload\":{}}");
        assertThat(t.egress).allSatisfy(e -> assertThat(e.partitionKey).isEqualTo("o-1"));
        assertThat(t.deadLetters).isEmpty();
        assertThat(t.messagesSent).isEqualTo(1);
        assertThat(t.messagesApplied).isEqualTo(2);
        assertThat(t.batchSize).isEqualTo(2);
        assertThat(t.feedbackInBatch).isEqualTo(1);
    }

    @Test
    void aNullStateDeletesItAndTheVersionKeepsCounting() {
        ResponseApplier.StateTransition t =
                APPLIER.apply("order/o-1", 0, BATCH, response("{\"state\":null}"), 0, 0, 1L);
        assertThat(t.state).isNull();
        assertThat(t.stateVersion).isEqualTo(1);
        assertThat(t.egressSequence).isZero();
        assertThat(t.messageSequence).isZero();
    }

    @Test
    void unknownTargetsAndRejectionsAreDeadLetteredInOrder() {
        ResponseApplier.StateTransition t = APPLIER.apply("order/o-1", 1, BATCH, response("""
                {"state":{},
                 "messages":[{"to":{"type":"nope","id":"x"},"type":"Lost","payload":{"a":1}},
                             {"to":{"type":"order","id":"o-2"},"type":"Hello"}],
                 "egress":[{"egress":"missing","partitionKey":"k","type":"T","payload":{"b":2}},
                           {"egress":"order-events","partitionKey":"o-1","type":"Kept"}],
                 "rejected":[{"messageId":"e-1","reason":"out of stock"},{"messageId":"not-in-batch","reason":"?"}]}
                """), 0, 0, 99L);

        assertThat(t.deadLetters)
                .extracting(d -> d.record().reason, ResponseApplier.DeadLetter::message)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(DeadLetters.UNKNOWN_FUNCTION, true),
                        org.assertj.core.groups.Tuple.tuple(DeadLetters.UNKNOWN_EGRESS, false),
                        org.assertj.core.groups.Tuple.tuple(DeadLetters.REJECTED, true));
        JsonNode lost =
                Json.read(json(t.deadLetters.get(0).record()).get("payload").asText());
        assertThat(lost.at("/address/type").asText()).isEqualTo("nope");
        assertThat(lost.at("/message/id").asText()).isEqualTo("order/o-1/1");
        assertThat(t.deadLetters.get(0).record().partitionKey).isEqualTo("nope/x");
        assertThat(json(t.deadLetters.get(1).record()).get("payload").asText())
                .isEqualTo("{\"egress\":\"missing\",\"partitionKey\":\"k\",\"type\":\"T\",\"payload\":{\"b\":2}}");
        JsonNode rejected = json(t.deadLetters.get(2).record());
        assertThat(rejected.get("detail").asText()).isEqualTo("out of stock");
        assertThat(Json.read(rejected.get("payload").asText()).at("/message/id").asText())
                .isEqualTo("e-1");
        assertThat(rejected.get("at").asLong()).isEqualTo(99L);

        // the message to the unknown type still took a number; the unknown egress did not take a sequence
        assertThat(t.messageSequence).isEqualTo(2);
        assertThat(t.feedback).extracting(m -> m.messageId).containsExactly("order/o-1/2");
        assertThat(t.egressSequence).isEqualTo(1);
        assertThat(t.egress).extracting(e -> e.json).singleElement().asString().contains("\"eventId\":\"order/o-1/1\"");
        assertThat(t.messagesSent).isEqualTo(2);
        assertThat(t.messagesApplied).isEqualTo(1);
    }

    @Test
    void anEgressRecordTooLargeForKinesisMakesTheResponseInvalidAndChangesNothing() {
        String big = "x".repeat((int) FunctionResponse.MAX_RECORD_BYTES);
        ResponseApplier.StateTransition t = APPLIER.apply(
                "order/o-1",
                1,
                BATCH,
                response(
                        "{\"state\":{\"changed\":true},\"egress\":[{\"egress\":\"order-events\",\"partitionKey\":\"o-1\",\"type\":\"Small\"},"
                                + "{\"egress\":\"order-events\",\"partitionKey\":\"o-1\",\"type\":\"Big\",\"payload\":{\"b\":\""
                                + big + "\"}}]}"),
                5,
                5,
                1L);
        assertThat(t.failure).isNotNull();
        assertThat(t.failure.failureReason).isEqualTo(DeadLetters.INVALID_RESPONSE);
        assertThat(t.failure.failureDetail)
                .startsWith("egress[1] record for egress 'order-events' is ")
                .contains("over the Kinesis record limit");
        assertThat(t.state).isNull();
        assertThat(t.feedback).isEmpty();
        assertThat(t.egress).isEmpty();
        assertThat(t.deadLetters).isEmpty();
    }

    @Test
    void aFailedBatchDeadLettersEveryMessageWithItsAddress() {
        List<DeadLetterRecord> letters = ResponseApplier.failedBatch(
                "order/o-1", Json.read(BATCH), DeadLetters.TIMEOUT, "after 3 attempt(s): slow", 5L);
        assertThat(letters).hasSize(2).allSatisfy(d -> {
            assertThat(d.reason).isEqualTo(DeadLetters.TIMEOUT);
            assertThat(d.detail).isEqualTo("after 3 attempt(s): slow");
            assertThat(d.partitionKey).isEqualTo("order/o-1");
        });
        assertThat(json(letters.get(1)).get("payload").asText())
                .isEqualTo(
                        "{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"message\":{\"id\":\"order/o-0/4\",\"type\":\"Ping\","
                                + "\"from\":{\"type\":\"order\",\"id\":\"o-0\"},\"payload\":{}}}");
        assertThat(ResponseApplier.feedbackCount(Json.read(BATCH))).isEqualTo(1);
    }

    @Property(seed = PropertySeed.SEED, tries = 200)
    void sequencesCountEverythingEmittedWhateverTheBatching(
            @ForAll @IntRange(max = 5) int messages,
            @ForAll @IntRange(max = 5) int egress,
            @ForAll @LongRange(max = 1_000_000) long lastEgress,
            @ForAll @LongRange(max = 1_000_000) long lastMessage,
            @ForAll @LongRange(max = 1_000_000) long version) {
        StringBuilder r = new StringBuilder("{\"state\":{\"v\":" + version + "},\"messages\":[");
        for (int i = 0; i < messages; i++) {
            r.append(i == 0 ? "" : ",")
                    .append("{\"to\":{\"type\":\"inventory\",\"id\":\"s")
                    .append(i)
                    .append("\"},\"type\":\"M\"}");
        }
        r.append("],\"egress\":[");
        for (int i = 0; i < egress; i++) {
            r.append(i == 0 ? "" : ",").append("{\"egress\":\"order-events\",\"partitionKey\":\"p\",\"type\":\"E\"}");
        }
        r.append("]}");
        ResponseApplier.StateTransition t =
                APPLIER.apply("order/o-1", version, BATCH, response(r.toString()), lastEgress, lastMessage, 1L);

        assertThat(t.stateVersion).isEqualTo(version + 1);
        assertThat(t.messageSequence).isEqualTo(lastMessage + messages);
        assertThat(t.egressSequence).isEqualTo(lastEgress + egress);
        for (int i = 0; i < messages; i++) {
            assertThat(t.feedback.get(i).messageId).isEqualTo("order/o-1/" + (lastMessage + i + 1));
        }
        for (int i = 0; i < egress; i++) {
            assertThat(Json.read(t.egress.get(i).json).get("sequence").asLong()).isEqualTo(lastEgress + i + 1);
        }
    }
}
