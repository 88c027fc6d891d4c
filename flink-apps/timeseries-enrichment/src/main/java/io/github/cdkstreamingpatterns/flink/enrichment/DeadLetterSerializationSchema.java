package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.flink.api.common.serialization.SerializationSchema;

/** Writes the dead-letter record contract as UTF-8 JSON. */
public final class DeadLetterSerializationSchema implements SerializationSchema<DeadLetterRecord> {
  private static final long serialVersionUID = 1L;

  @Override
  public byte[] serialize(DeadLetterRecord r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + r.payload.length());
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("reason", r.reason);
      g.writeStringField("detail", r.detail);
      g.writeStringField("stage", r.stage);
      g.writeStringField("payload", r.payload);
      g.writeStringField("payloadEncoding", r.payloadEncoding);
      g.writeNumberField("at", r.at);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
