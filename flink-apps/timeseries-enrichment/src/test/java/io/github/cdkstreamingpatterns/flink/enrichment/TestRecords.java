package io.github.cdkstreamingpatterns.flink.enrichment;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builders for test records. */
final class TestRecords {
    private TestRecords() {}

    static TelemetryRecord telemetry(String eventId, String deviceId, long timestamp, double temperature) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("temperature", temperature);
        return new TelemetryRecord(eventId, deviceId, timestamp, metrics, new LinkedHashMap<>());
    }

    static String json(String eventId, String deviceId, long timestamp, double temperature) {
        return "{\"eventId\":\""
                + eventId
                + "\",\"deviceId\":\""
                + deviceId
                + "\",\"timestamp\":"
                + timestamp
                + ",\"metrics\":{\"temperature\":"
                + temperature
                + "},\"attributes\":{\"fw\":\"1.2.0\"}}";
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
