package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonGenerator;
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
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("eventId", r.eventId);
      g.writeStringField("deviceId", r.deviceId);
      g.writeNumberField("timestamp", r.timestamp);
      g.writeObjectFieldStart("metrics");
      for (Map.Entry<String, Double> e : r.metrics.entrySet()) {
        g.writeNumberField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      writeStrings(g, "attributes", r.attributes);
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
