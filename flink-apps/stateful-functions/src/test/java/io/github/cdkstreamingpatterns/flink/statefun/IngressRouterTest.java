package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class IngressRouterTest {
    private final ModuleDefinition module = ModuleDefinition.parse(
            "{\"functions\":{\"order\":{\"endpoint\":\"http://127.0.0.1/o\"}},\"ingress\":[{\"eventType\":\"PlaceOrder\",\"functionType\":\"order\"}]}",
            5000);

    private IngressRouter.Result route(String json) {
        return IngressRouter.route(module, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void routesAnEnvelopeToTheFunctionInstanceOfItsAggregate() throws Exception {
        IngressRouter.Result result = route(
                "{\"eventId\":\"e-1\",\"type\":\"PlaceOrder\",\"aggregateId\":\"order-1\",\"occurredAt\":\"2026-11-29T08:00:00Z\",\"payload\":{\"sku\":\"s\"}}");

        assertThat(result.message.addressKey()).isEqualTo("order/order-1");
        assertThat(result.message.messageId).isEqualTo("e-1");
        JsonNode message = Json.MAPPER.readTree(result.message.messageJson);
        assertThat(message.toString())
                .isEqualTo("{\"id\":\"e-1\",\"type\":\"PlaceOrder\",\"from\":null,\"payload\":{\"sku\":\"s\"}}");
    }

    @Test
    void namesTheReasonForEveryRejectedEnvelope() {
        assertThat(route("{oops").reason).isEqualTo(DeadLetters.MALFORMED_JSON);
        assertThat(route("[1,2]").reason).isEqualTo(DeadLetters.MALFORMED_JSON);
        assertThat(route("{\"type\":\"PlaceOrder\",\"aggregateId\":\"o\",\"occurredAt\":\"t\",\"payload\":{}}").detail)
                .contains("'eventId'");
        assertThat(route("{\"eventId\":\"e\",\"aggregateId\":\"o\",\"occurredAt\":\"t\",\"payload\":{}}").detail)
                .contains("'type'");
        assertThat(route(
                                "{\"eventId\":\"e\",\"type\":\"PlaceOrder\",\"aggregateId\":\"\",\"occurredAt\":\"t\",\"payload\":{}}")
                        .detail)
                .contains("'aggregateId'");
        assertThat(route("{\"eventId\":\"e\",\"type\":\"PlaceOrder\",\"aggregateId\":\"o\",\"payload\":{}}").detail)
                .contains("'occurredAt'");
        assertThat(route(
                                "{\"eventId\":\"e\",\"type\":\"PlaceOrder\",\"aggregateId\":\"o\",\"occurredAt\":\"t\",\"payload\":3}")
                        .reason)
                .isEqualTo(DeadLetters.SCHEMA);
        IngressRouter.Result unknown = route(
                "{\"eventId\":\"e\",\"type\":\"Ship\",\"aggregateId\":\"o\",\"occurredAt\":\"t\",\"payload\":{}}");
        assertThat(unknown.reason).isEqualTo(DeadLetters.UNKNOWN_EVENT_TYPE);
        assertThat(unknown.partitionKey).isEqualTo("o");
    }

    @Test
    void deadLetterKeepsTheOriginalBytesAsTextOrBase64() throws Exception {
        byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, 0x41};
        JsonNode letter = Json.MAPPER.readTree(
                DeadLetters.ofBytes("MALFORMED_JSON", "bad", "k", notUtf8, 42L).toJson(DeadLetters.ENCODING));
        assertThat(letter.get("payload").asText()).isEqualTo(Base64.getEncoder().encodeToString(notUtf8));
        assertThat(letter.get("stage").asText()).isEqualTo("stateful-functions");
        assertThat(letter.get("at").asLong()).isEqualTo(42L);

        JsonNode text = Json.MAPPER.readTree(
                DeadLetters.ofBytes("SCHEMA", "bad", "k", "{\"é\":1}".getBytes(StandardCharsets.UTF_8), 1L)
                        .toJson(DeadLetters.ENCODING));
        assertThat(text.get("payload").asText()).isEqualTo("{\"é\":1}");
    }

    @Test
    void aRejectedEnvelopeWithAVeryLongAggregateIdGetsAPartitionKeyKinesisAccepts() {
        String longId = "o".repeat(400);
        IngressRouter.Result unknown = route("{\"eventId\":\"e\",\"type\":\"Ship\",\"aggregateId\":\"" + longId
                + "\",\"occurredAt\":\"t\",\"payload\":{}}");
        DeadLetterRecord letter =
                DeadLetters.ofBytes(unknown.reason, unknown.detail, unknown.partitionKey, new byte[] {'x'}, 1L);
        assertThat(letter.partitionKey).hasSize(256);
    }

    @Test
    void aDeadLetterOverTheLimitIsCutByBytesWithoutSplittingASurrogatePair() throws Exception {
        String original = "x" + "\uD83D\uDE00\"\u00e9".repeat(300); // 4-byte emoji, escaped quote, 2-byte letter
        for (int limit = 800; limit < 840; limit++) {
            DeadLetterRecord d = DeadLetters.of("SCHEMA", "bad", "key", original, 3L, limit);
            long size = d.toJson(DeadLetters.ENCODING).length + d.partitionKey.length();
            assertThat(size).as("limit " + limit).isLessThanOrEqualTo(limit).isGreaterThan(limit - 13);
            JsonNode letter = Json.MAPPER.readTree(d.toJson(DeadLetters.ENCODING));
            assertThat(letter.get("truncated").asBoolean()).isTrue();
            String payload = letter.get("payload").asText();
            assertThat(original).startsWith(payload);
            assertThat(Character.isHighSurrogate(payload.charAt(payload.length() - 1)))
                    .isFalse();
            assertThat(letter.get("reason").asText()).isEqualTo("SCHEMA");
        }
        JsonNode whole = Json.MAPPER.readTree(
                DeadLetters.of("SCHEMA", "bad", "key", original, 3L).toJson(DeadLetters.ENCODING));
        assertThat(whole.has("truncated"))
                .as("a record that fits is left whole")
                .isFalse();
        assertThat(whole.get("payload").asText()).isEqualTo(original);
    }
}
