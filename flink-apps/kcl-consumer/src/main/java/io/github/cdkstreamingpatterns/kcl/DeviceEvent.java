package io.github.cdkstreamingpatterns.kcl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One record of the enriched stream, the contract the time-series enrichment job writes: {@code {"eventId",
 * "deviceId","timestamp","metrics","attributes","metadata","enriched","processedAt"}}. Only {@code eventId},
 * {@code deviceId} and {@code timestamp} are required; the maps default to empty.
 */
public record DeviceEvent(
        String eventId,
        String deviceId,
        long timestamp,
        Map<String, Double> metrics,
        Map<String, String> attributes,
        Map<String, String> metadata,
        boolean enriched,
        long processedAt) {

    /** The event in {@code bytes}, or empty when they are not an enriched record (the reason goes to the log). */
    public static Optional<DeviceEvent> parse(byte[] bytes, StringBuilder reason) {
        String text = Json.strictUtf8(bytes);
        if (text == null) {
            reason.append("not UTF-8");
            return Optional.empty();
        }
        JsonNode node;
        try {
            node = Json.READER.readTree(text);
        } catch (JsonProcessingException e) {
            reason.append("malformed JSON: ").append(e.getOriginalMessage());
            return Optional.empty();
        }
        if (node == null || !node.isObject()) {
            reason.append("not a JSON object");
            return Optional.empty();
        }
        String eventId = Json.nonEmptyText(node, "eventId");
        String deviceId = Json.nonEmptyText(node, "deviceId");
        JsonNode timestamp = node.get("timestamp");
        if (eventId == null || deviceId == null) {
            reason.append("eventId and deviceId must be non-empty strings");
            return Optional.empty();
        }
        if (timestamp == null || !timestamp.canConvertToExactIntegral() || !timestamp.canConvertToLong()) {
            reason.append("timestamp must be an integer (epoch milliseconds), got ")
                    .append(timestamp);
            return Optional.empty();
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        JsonNode metricsNode = node.get("metrics");
        if (metricsNode != null && !metricsNode.isNull()) {
            if (!metricsNode.isObject()) {
                reason.append("metrics must be an object");
                return Optional.empty();
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = metricsNode.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                // DynamoDB numbers have no NaN or Infinity.
                if (!e.getValue().isNumber() || !Double.isFinite(e.getValue().doubleValue())) {
                    reason.append("metric ").append(e.getKey()).append(" must be a finite number");
                    return Optional.empty();
                }
                metrics.put(e.getKey(), e.getValue().doubleValue());
            }
        }
        Map<String, String> attributes = strings(node, "attributes", reason);
        Map<String, String> metadata = strings(node, "metadata", reason);
        if (attributes == null || metadata == null) {
            return Optional.empty();
        }
        JsonNode enriched = node.get("enriched");
        JsonNode processedAt = node.get("processedAt");
        return Optional.of(new DeviceEvent(
                eventId,
                deviceId,
                timestamp.longValue(),
                Collections.unmodifiableMap(metrics),
                attributes,
                metadata,
                enriched != null && enriched.asBoolean(false),
                processedAt != null && processedAt.canConvertToLong() ? processedAt.longValue() : 0L));
    }

    private static Map<String, String> strings(JsonNode node, String field, StringBuilder reason) {
        JsonNode value = node.get(field);
        Map<String, String> out = new LinkedHashMap<>();
        if (value == null || value.isNull()) {
            return Collections.unmodifiableMap(out);
        }
        if (!value.isObject()) {
            reason.append(field).append(" must be an object of strings");
            return null;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                reason.append(field).append('.').append(e.getKey()).append(" must be a string");
                return null;
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return Collections.unmodifiableMap(out);
    }
}
