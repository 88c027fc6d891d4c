package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A validated raw telemetry record. Public fields and a no-arg constructor keep it a Flink POJO, so it is
 * serialized without Kryo when it crosses the network for the keyBy on eventId.
 */
public class TelemetryRecord {
    /**
     * Raw records larger than this keep their original bytes in {@link #original}, so that the enrich step can
     * dead-letter them as received if their enriched form is too large for Kinesis. Smaller records reach that limit
     * only with hundreds of KiB of reference metadata for one device; carrying the bytes of every record would double
     * what crosses the network at the keyBy.
     */
    public static final int KEEP_ORIGINAL_ABOVE_BYTES = 64 * 1024;

    public String eventId;
    public String deviceId;
    public long timestamp;
    public Map<String, Double> metrics = new LinkedHashMap<>();
    public Map<String, String> attributes = new LinkedHashMap<>();
    /**
     * The raw record as received, only when it is larger than {@link #KEEP_ORIGINAL_ABOVE_BYTES}; null otherwise. Not
     * part of the record's identity ({@link #equals}, {@link #contentHash}).
     */
    public byte[] original;

    public TelemetryRecord() {}

    public TelemetryRecord(
            String eventId,
            String deviceId,
            long timestamp,
            Map<String, Double> metrics,
            Map<String, String> attributes) {
        this.eventId = eventId;
        this.deviceId = deviceId;
        this.timestamp = timestamp;
        this.metrics = metrics;
        this.attributes = attributes;
    }

    public String getEventId() {
        return eventId;
    }

    public String getDeviceId() {
        return deviceId;
    }

    public long getTimestamp() {
        return timestamp;
    }

    /**
     * Hash of everything but the eventId, used to tell a plain redelivery from a conflicting record that reuses an
     * eventId. Maps are compared by content, so field order in the source JSON does not matter.
     */
    public long contentHash() {
        return Objects.hash(deviceId, timestamp, metrics, attributes);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TelemetryRecord)) {
            return false;
        }
        TelemetryRecord that = (TelemetryRecord) o;
        return timestamp == that.timestamp
                && Objects.equals(eventId, that.eventId)
                && Objects.equals(deviceId, that.deviceId)
                && Objects.equals(metrics, that.metrics)
                && Objects.equals(attributes, that.attributes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(eventId, deviceId, timestamp, metrics, attributes);
    }

    @Override
    public String toString() {
        return "TelemetryRecord{eventId=" + eventId + ", deviceId=" + deviceId + ", timestamp=" + timestamp + "}";
    }
}
