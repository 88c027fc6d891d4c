package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** Output record for the enriched stream; see {@link EnrichedRecordSerializationSchema} for its JSON form. */
public class EnrichedRecord {
    public String eventId;
    public String deviceId;
    public long timestamp;
    public Map<String, Double> metrics = new LinkedHashMap<>();
    public Map<String, String> attributes = new LinkedHashMap<>();
    public Map<String, String> metadata = new LinkedHashMap<>();
    public boolean enriched;
    public long processedAt;

    public EnrichedRecord() {}

    /** The enriched form of {@code in}; {@code metadata} null for a device the reference data does not know. */
    public static EnrichedRecord of(TelemetryRecord in, Map<String, String> metadata, long processedAt) {
        EnrichedRecord out = new EnrichedRecord();
        out.eventId = in.eventId;
        out.deviceId = in.deviceId;
        out.timestamp = in.timestamp;
        out.metrics = in.metrics;
        out.attributes = in.attributes;
        // The reference data's own map (immutable, see ReferenceDataParser): one copy per record was pure cost.
        out.metadata = metadata == null ? new LinkedHashMap<>() : metadata;
        out.enriched = metadata != null;
        out.processedAt = processedAt;
        return out;
    }

    public String getEventId() {
        return eventId;
    }

    public String getDeviceId() {
        return deviceId;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof EnrichedRecord)) {
            return false;
        }
        EnrichedRecord that = (EnrichedRecord) o;
        return timestamp == that.timestamp
                && enriched == that.enriched
                && processedAt == that.processedAt
                && Objects.equals(eventId, that.eventId)
                && Objects.equals(deviceId, that.deviceId)
                && Objects.equals(metrics, that.metrics)
                && Objects.equals(attributes, that.attributes)
                && Objects.equals(metadata, that.metadata);
    }

    @Override
    public int hashCode() {
        return Objects.hash(eventId, deviceId, timestamp, metrics, attributes, metadata, enriched, processedAt);
    }

    @Override
    public String toString() {
        return "EnrichedRecord{eventId=" + eventId + ", deviceId=" + deviceId + ", enriched=" + enriched + "}";
    }
}
