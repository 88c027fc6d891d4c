package io.github.cdkstreamingpatterns.flink.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The one Jackson configuration of the applications (ObjectMapper is thread-safe once configured) and helpers. */
public final class Json {
    /**
     * Reader for incoming telemetry records. NaN/Infinity literals are accepted by the parser so that a producer that
     * emits them (Python's json.dumps does by default) gets the precise OUT_OF_RANGE reason instead of MALFORMED_JSON.
     * Duplicate field names and trailing data make a record ambiguous, so they are rejected as malformed.
     */
    public static final ObjectMapper READER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Plain mapper for configuration, reference data, protocol messages and output records. */
    public static final ObjectMapper MAPPER = new ObjectMapper();

    public static final JsonFactory FACTORY = MAPPER.getFactory();

    private Json() {}

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** The tree as JSON text. */
    public static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            // Serializing an in-memory tree cannot fail for syntactic reasons; surface anything else loudly.
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode read(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Returns the field as a non-empty string, or null when it is missing, not a string, or empty. */
    public static String nonEmptyText(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            return null;
        }
        return value.asText();
    }

    /** Decodes UTF-8 strictly; null when the bytes are not valid UTF-8 (no silent replacement characters). */
    public static String strictUtf8(byte[] bytes) {
        // ASCII, what nearly every record is: each byte is its character and nothing can be malformed, so the
        // decoder (one per call, plus its buffers) is not needed.
        int i = 0;
        while (i < bytes.length && bytes[i] >= 0) {
            i++;
        }
        if (i == bytes.length) {
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Bytes of {@code s} in UTF-8 as {@link String#getBytes} writes it (a lone surrogate becomes one '?'). */
    public static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                n += 1;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
