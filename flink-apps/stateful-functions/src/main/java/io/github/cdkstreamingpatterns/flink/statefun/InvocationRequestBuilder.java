package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.core.JsonGenerator;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Builds what is sent to a remote function (the protocol of {@code lambda/functions/sdk/protocol.ts}):
 * {@code {"address":{"type","id"},"state":<state or null>,"stateVersion":n,"messages":[...]}}.
 *
 * <p>The state and the messages are kept in Flink state as JSON text that Jackson wrote; they are embedded as they
 * are (never parsed again: a large state would be parsed on every call), and Jackson writes everything around them,
 * so any address is escaped correctly. The text is the same as it has always been, and so are its bytes
 * ({@link String#getBytes}: a lone surrogate in a string is sent as {@code '?'}).
 */
final class InvocationRequestBuilder {
    private InvocationRequestBuilder() {}

    /** The in-flight batch: buffered messages (each a JSON object) as one JSON array. */
    static String batch(List<String> messageJsons) {
        return write(g -> {
            g.writeStartArray();
            for (String message : messageJsons) {
                g.writeRawValue(message);
            }
            g.writeEndArray();
        });
    }

    /** The request body as text. */
    static String json(Address address, String stateJson, long stateVersion, String batchJson) {
        return write(g -> {
            g.writeStartObject();
            g.writeFieldName("address");
            writeAddress(g, address);
            g.writeFieldName("state");
            if (stateJson == null) {
                g.writeNull();
            } else {
                g.writeRawValue(stateJson);
            }
            g.writeNumberField("stateVersion", stateVersion);
            g.writeFieldName("messages");
            g.writeRawValue(batchJson);
            g.writeEndObject();
        });
    }

    /** The request body as sent. */
    static byte[] body(Address address, String stateJson, long stateVersion, String batchJson) {
        return json(address, stateJson, stateVersion, batchJson).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code {"type","id"}}, as {@link Address#toJson()} writes it. */
    static void writeAddress(JsonGenerator g, Address address) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", address.type());
        g.writeStringField("id", address.id());
        g.writeEndObject();
    }

    interface Body {
        void writeTo(JsonGenerator g) throws IOException;
    }

    static String write(Body body) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = Json.FACTORY.createGenerator((Writer) out)) {
            body.writeTo(g);
        } catch (IOException e) {
            // Writing to a string cannot fail for I/O reasons; surface anything else loudly.
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }
}
