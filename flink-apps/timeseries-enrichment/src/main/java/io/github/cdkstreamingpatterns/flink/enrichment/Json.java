package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The one Jackson configuration of this application (ObjectMapper is thread-safe once configured). */
final class Json {
  /**
   * Reader for incoming records. NaN/Infinity literals are accepted by the parser so that a producer that emits them
   * (Python's json.dumps does by default) gets the precise OUT_OF_RANGE reason instead of MALFORMED_JSON. Duplicate
   * field names and trailing data make a record ambiguous, so they are rejected as malformed.
   */
  static final ObjectMapper READER =
      JsonMapper.builder()
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  /** Plain mapper for configuration and reference data. */
  static final ObjectMapper MAPPER = new ObjectMapper();

  static final JsonFactory FACTORY = MAPPER.getFactory();

  private Json() {}

  /** Decodes UTF-8 strictly; null when the bytes are not valid UTF-8 (no silent replacement characters). */
  static String strictUtf8(byte[] bytes) {
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
}
