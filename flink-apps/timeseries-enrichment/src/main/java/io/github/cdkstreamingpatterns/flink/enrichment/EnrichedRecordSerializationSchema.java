package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonGenerator;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializationSchema;

/**
 * Writes the enriched record contract: {@code {"eventId","deviceId","timestamp","metrics","attributes","metadata",
 * "enriched","processedAt"}}, in that order, UTF-8.
 */
public final class EnrichedRecordSerializationSchema implements SerializationSchema<EnrichedRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public byte[] serialize(EnrichedRecord r) {
        byte[] plain = PlainJson.enriched(r);
        return plain != null ? plain : withJackson(r);
    }

    /** The reference encoding: every record {@link PlainJson} cannot write, and the property tests' oracle. */
    static byte[] withJackson(EnrichedRecord r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            g.writeStartObject();
            writeTelemetryFields(g, r.eventId, r.deviceId, r.timestamp, r.metrics, r.attributes);
            writeStrings(g, "metadata", r.metadata);
            g.writeBooleanField("enriched", r.enriched);
            g.writeNumberField("processedAt", r.processedAt);
            g.writeEndObject();
        } catch (IOException e) {
            // Writing to memory cannot fail for I/O reasons.
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * An upper bound of {@code serialize(r).length} computed without serializing: Jackson writes at most 6 bytes per
     * char (a control character or half a surrogate pair as an escape) and at most 24 chars per number. Lets the
     * enrich step skip the exact measurement for all but very large records.
     */
    static long maxSerializedSize(EnrichedRecord r) {
        long chars = length(r.eventId) + length(r.deviceId) + stringsLength(r.attributes) + stringsLength(r.metadata);
        long entries = size(r.attributes) + size(r.metadata);
        for (String name : r.metrics.keySet()) {
            chars += name.length();
        }
        return 6 * chars + 8 * entries + 32L * r.metrics.size() + 256;
    }

    private static long stringsLength(Map<String, String> values) {
        long n = 0;
        if (values != null) {
            for (Map.Entry<String, String> e : values.entrySet()) {
                n += length(e.getKey()) + length(e.getValue());
            }
        }
        return n;
    }

    private static int length(String s) {
        return s == null ? 0 : s.length();
    }

    private static int size(Map<String, String> values) {
        return values == null ? 0 : values.size();
    }

    /** The raw record contract's fields, in contract order; shared with dead letters of validated records. */
    static void writeTelemetryFields(
            JsonGenerator g,
            String eventId,
            String deviceId,
            long timestamp,
            Map<String, Double> metrics,
            Map<String, String> attributes)
            throws IOException {
        g.writeStringField("eventId", eventId);
        g.writeStringField("deviceId", deviceId);
        g.writeNumberField("timestamp", timestamp);
        g.writeObjectFieldStart("metrics");
        for (Map.Entry<String, Double> e : metrics.entrySet()) {
            g.writeNumberField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        writeStrings(g, "attributes", attributes);
    }

    static void writeStrings(JsonGenerator g, String field, Map<String, String> values) throws IOException {
        g.writeObjectFieldStart(field);
        if (values != null) {
            for (Map.Entry<String, String> e : values.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
        }
        g.writeEndObject();
    }
}
