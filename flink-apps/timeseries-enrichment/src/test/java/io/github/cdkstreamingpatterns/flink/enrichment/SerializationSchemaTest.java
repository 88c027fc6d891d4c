package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SerializationSchemaTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    private static TelemetryRecord telemetry() {
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("temperature", 21.4);
        metrics.put("humidity", 40.0);
        return new TelemetryRecord(
                "e-1", "device-00042", 1764403200123L, metrics, new LinkedHashMap<>(Map.of("fw", "1.2.0")));
    }

    @Test
    void enrichedRecordFollowsTheContract() throws Exception {
        EnrichedRecord r =
                EnrichedRecord.of(telemetry(), Map.of("site", "plant-1", "deviceType", "thermostat"), 1764403201000L);
        JsonNode json = MAPPER.readTree(new EnrichedRecordSerializationSchema().serialize(r));

        assertThat(fieldNames(json))
                .containsExactly(
                        "eventId",
                        "deviceId",
                        "timestamp",
                        "metrics",
                        "attributes",
                        "metadata",
                        "enriched",
                        "processedAt");
        assertThat(json.get("eventId").textValue()).isEqualTo("e-1");
        assertThat(json.get("deviceId").textValue()).isEqualTo("device-00042");
        assertThat(json.get("timestamp").longValue()).isEqualTo(1764403200123L);
        assertThat(json.get("timestamp").isIntegralNumber()).isTrue();
        assertThat(json.get("metrics").get("temperature").doubleValue()).isEqualTo(21.4);
        assertThat(json.get("metrics").get("humidity").doubleValue()).isEqualTo(40.0);
        assertThat(json.get("attributes").get("fw").textValue()).isEqualTo("1.2.0");
        assertThat(json.get("metadata").get("site").textValue()).isEqualTo("plant-1");
        assertThat(json.get("metadata").get("deviceType").textValue()).isEqualTo("thermostat");
        assertThat(json.get("enriched").booleanValue()).isTrue();
        assertThat(json.get("processedAt").longValue()).isEqualTo(1764403201000L);
    }

    @Test
    void unknownDeviceHasEmptyMetadataAndEnrichedFalse() throws Exception {
        EnrichedRecord r = EnrichedRecord.of(telemetry(), null, 5L);
        JsonNode json = MAPPER.readTree(new EnrichedRecordSerializationSchema().serialize(r));
        assertThat(json.get("metadata").isObject()).isTrue();
        assertThat(json.get("metadata").size()).isZero();
        assertThat(json.get("enriched").booleanValue()).isFalse();
    }

    @Test
    void stringsAreEscaped() throws Exception {
        TelemetryRecord t = telemetry();
        t.attributes.put("note", "quote \" backslash \\ newline \n unicode \u00e9");
        EnrichedRecord r = EnrichedRecord.of(t, Map.of(), 5L);
        JsonNode json = MAPPER.readTree(new EnrichedRecordSerializationSchema().serialize(r));
        assertThat(json.get("attributes").get("note").textValue())
                .isEqualTo("quote \" backslash \\ newline \n unicode \u00e9");
    }

    @Test
    void deadLetterKeepsUtf8PayloadAsText() throws Exception {
        byte[] original = "{\"eventId\":\u00e9".getBytes(StandardCharsets.UTF_8);
        DeadLetterRecord d = DeadLetters.of(DeadLetterReason.MALFORMED_JSON, "broken", original, 1234L);
        JsonNode json = MAPPER.readTree(new DeadLetterSerializationSchema().serialize(d));

        assertThat(fieldNames(json)).containsExactly("reason", "detail", "stage", "payload", "payloadEncoding", "at");
        assertThat(json.get("reason").textValue()).isEqualTo("MALFORMED_JSON");
        assertThat(json.get("detail").textValue()).isEqualTo("broken");
        assertThat(json.get("stage").textValue()).isEqualTo("timeseries-enrichment");
        assertThat(json.get("payload").textValue()).isEqualTo("{\"eventId\":\u00e9");
        assertThat(json.get("payloadEncoding").textValue()).isEqualTo("utf-8");
        assertThat(json.get("at").longValue()).isEqualTo(1234L);
    }

    @Test
    void deadLetterBase64EncodesNonUtf8Payload() throws Exception {
        byte[] original = {(byte) 0xff, (byte) 0xfe, 0, 1};
        DeadLetterRecord d = DeadLetters.of(DeadLetterReason.MALFORMED_JSON, "not utf-8", original, 1L);
        JsonNode json = MAPPER.readTree(new DeadLetterSerializationSchema().serialize(d));
        assertThat(json.get("payloadEncoding").textValue()).isEqualTo("base64");
        assertThat(Base64.getDecoder().decode(json.get("payload").textValue())).isEqualTo(original);
    }

    @Test
    void deadLetterPartitionKeyIsStablePerPayloadAndSpreadsAcrossPayloads() {
        byte[] a = "a".getBytes(StandardCharsets.UTF_8);
        byte[] b = "b".getBytes(StandardCharsets.UTF_8);
        String keyA = DeadLetters.of(DeadLetterReason.SCHEMA, "x", a, 1L).partitionKey;
        assertThat(DeadLetters.of(DeadLetterReason.SCHEMA, "y", a, 2L).partitionKey)
                .isEqualTo(keyA);
        assertThat(DeadLetters.of(DeadLetterReason.SCHEMA, "x", b, 1L).partitionKey)
                .isNotEqualTo(keyA);
        assertThat(keyA).startsWith("dlq-").hasSizeLessThanOrEqualTo(256);
    }

    @Test
    void deadLetterThatFitsIsLeftWholeAndHasNoTruncatedField() throws Exception {
        DeadLetterRecord d =
                DeadLetters.of(DeadLetterReason.SCHEMA, "bad", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), 5L);
        assertThat(d.truncated).isFalse();
        JsonNode json = MAPPER.readTree(new DeadLetterSerializationSchema().serialize(d));
        assertThat(json.has("truncated")).isFalse();
        assertThat(json.get("payload").textValue()).isEqualTo("{\"a\":1}");
    }

    @Test
    void deadLetterOverTheLimitIsCutByBytesWithoutSplittingASurrogatePair() throws Exception {
        String original = "x" + "\uD83D\uDE00\"".repeat(400); // emoji (escaped by Jackson) and quotes
        DeadLetterRecord whole =
                DeadLetters.of(DeadLetterReason.SCHEMA, "bad", original.getBytes(StandardCharsets.UTF_8), 5L);
        for (int limit = 700; limit < 760; limit++) {
            DeadLetterRecord d = DeadLetters.fit(whole, limit);
            byte[] bytes = new DeadLetterSerializationSchema().serialize(d);
            assertThat(bytes.length + d.partitionKey.length())
                    .as("limit " + limit)
                    .isLessThanOrEqualTo(limit);
            assertThat(bytes.length + d.partitionKey.length())
                    .as("limit " + limit)
                    .isGreaterThan(limit - 13);
            assertThat(d.truncated).isTrue();
            assertThat(original).startsWith(d.payload);
            assertThat(Character.isHighSurrogate(d.payload.charAt(d.payload.length() - 1)))
                    .isFalse();
            JsonNode json = MAPPER.readTree(bytes);
            assertThat(json.get("truncated").booleanValue()).isTrue();
            assertThat(json.get("payload").textValue()).isEqualTo(d.payload);
            assertThat(json.get("reason").textValue()).isEqualTo("SCHEMA");
        }
        assertThat(whole.truncated).as("the input record is not modified").isFalse();
    }
}
