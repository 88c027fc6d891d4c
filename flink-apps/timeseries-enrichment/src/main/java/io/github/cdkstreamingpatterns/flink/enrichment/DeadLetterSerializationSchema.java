package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import org.apache.flink.api.common.serialization.SerializationSchema;

/** Writes the dead-letter record contract as UTF-8 JSON. */
public final class DeadLetterSerializationSchema implements SerializationSchema<DeadLetterRecord> {
  private static final long serialVersionUID = 1L;

  @Override
  public byte[] serialize(DeadLetterRecord r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + r.payload.length());
    write(r, out);
    return out.toByteArray();
  }

  /** The JSON form; {@link DeadLetterRecord#fit} measures records with it, so both agree on the size. */
  static void write(DeadLetterRecord r, OutputStream out) {
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("reason", r.reason);
      g.writeStringField("detail", r.detail);
      g.writeStringField("stage", r.stage);
      g.writeStringField("payload", r.payload);
      g.writeStringField("payloadEncoding", r.payloadEncoding);
      g.writeNumberField("at", r.at);
      if (r.truncated) {
        g.writeBooleanField("truncated", true);
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
