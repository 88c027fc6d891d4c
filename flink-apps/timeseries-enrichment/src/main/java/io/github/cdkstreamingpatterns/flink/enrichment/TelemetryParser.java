package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Parses and validates one raw record against the telemetry record contract.
 *
 * <p>Checks run in three passes so the reason reported is the most fundamental one: first the JSON itself
 * (MALFORMED_JSON), then shape and types of every field (SCHEMA), then values (OUT_OF_RANGE), and last the event
 * time window (TIMESTAMP_FUTURE / TIMESTAMP_PAST). Unknown top-level fields are ignored so producers can add fields
 * before this application knows them; they are not forwarded.
 */
public final class TelemetryParser implements Serializable {
  private static final long serialVersionUID = 1L;

  static final int MAX_EVENT_ID_LENGTH = 128;
  static final int MAX_METRICS = 100;
  static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9_.:-]{1,128}");
  static final Pattern METRIC_NAME = Pattern.compile("[A-Za-z0-9_]{1,64}");

  private final long maxFutureSkewMillis;
  private final long maxPastAgeMillis;

  public TelemetryParser(ProcessingSettings settings) {
    this.maxFutureSkewMillis = settings.maxFutureSkew().toMillis();
    this.maxPastAgeMillis = settings.maxPastAge().toMillis();
  }

  /**
   * @param payload the raw Kinesis record data
   * @param nowMillis processing time the timestamp window is measured from
   */
  public ParseResult parse(byte[] payload, long nowMillis) {
    if (payload == null || payload.length == 0) {
      return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "empty payload");
    }
    // Decoded up front because Jackson would otherwise auto-detect UTF-16/32 and accept them; the contract is UTF-8.
    String text = Json.strictUtf8(payload);
    if (text == null) {
      return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "payload is not valid UTF-8");
    }
    JsonNode root;
    try {
      root = Json.READER.readTree(text);
    } catch (JacksonException e) {
      return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, firstLine(e.getOriginalMessage()));
    } catch (IOException e) {
      return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, String.valueOf(e.getMessage()));
    }
    if (root == null || root.isMissingNode()) {
      return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "payload holds no JSON value");
    }
    if (!root.isObject()) {
      return schema("record must be a JSON object, got " + describe(root));
    }

    // Pass 1: shape and types.
    JsonNode eventId = root.get("eventId");
    if (!isString(eventId)) {
      return schema("eventId must be a string, got " + describe(eventId));
    }
    int eventIdLength = eventId.textValue().length();
    if (eventIdLength == 0 || eventIdLength > MAX_EVENT_ID_LENGTH) {
      return schema("eventId must have 1.." + MAX_EVENT_ID_LENGTH + " characters, got " + eventIdLength);
    }
    JsonNode deviceId = root.get("deviceId");
    if (!isString(deviceId)) {
      return schema("deviceId must be a string, got " + describe(deviceId));
    }
    if (!DEVICE_ID.matcher(deviceId.textValue()).matches()) {
      return schema("deviceId must match " + DEVICE_ID.pattern() + ", got '" + abbreviate(deviceId.textValue()) + "'");
    }
    JsonNode timestamp = root.get("timestamp");
    if (timestamp == null || !timestamp.isIntegralNumber()) {
      return schema("timestamp must be an integer number of epoch milliseconds, got " + describe(timestamp));
    }
    JsonNode metrics = root.get("metrics");
    if (metrics == null || !metrics.isObject()) {
      return schema("metrics must be an object, got " + describe(metrics));
    }
    if (metrics.isEmpty() || metrics.size() > MAX_METRICS) {
      return schema("metrics must have 1.." + MAX_METRICS + " entries, got " + metrics.size());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = metrics.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!METRIC_NAME.matcher(e.getKey()).matches()) {
        return schema("metric name must match " + METRIC_NAME.pattern() + ", got '" + abbreviate(e.getKey()) + "'");
      }
      if (!e.getValue().isNumber()) {
        return schema("metrics." + e.getKey() + " must be a number, got " + describe(e.getValue()));
      }
    }
    JsonNode attributes = root.get("attributes");
    boolean hasAttributes = attributes != null && !attributes.isNull();
    if (hasAttributes) {
      if (!attributes.isObject()) {
        return schema("attributes must be an object of strings, got " + describe(attributes));
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = attributes.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isTextual()) {
          return schema("attributes." + abbreviate(e.getKey()) + " must be a string, got " + describe(e.getValue()));
        }
      }
    }

    // Pass 2: values.
    if (!timestamp.canConvertToLong()) {
      return ParseResult.invalid(
          DeadLetterReason.OUT_OF_RANGE, "timestamp " + abbreviate(timestamp.asText()) + " does not fit in 64 bits");
    }
    Map<String, Double> metricValues = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = metrics.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      double value = e.getValue().doubleValue();
      if (!Double.isFinite(value)) {
        return ParseResult.invalid(
            DeadLetterReason.OUT_OF_RANGE,
            "metrics." + e.getKey() + " must be a finite number, got " + abbreviate(e.getValue().asText()));
      }
      metricValues.put(e.getKey(), value);
    }

    // Pass 3: event time window.
    long ts = timestamp.longValue();
    // Compared against the bounds, not by subtracting from ts, so extreme timestamps cannot overflow.
    if (ts > nowMillis + maxFutureSkewMillis) {
      return ParseResult.invalid(
          DeadLetterReason.TIMESTAMP_FUTURE,
          "timestamp " + ts + " is more than " + maxFutureSkewMillis + " ms ahead of processing time " + nowMillis);
    }
    if (ts < nowMillis - maxPastAgeMillis) {
      return ParseResult.invalid(
          DeadLetterReason.TIMESTAMP_PAST,
          "timestamp " + ts + " is more than " + maxPastAgeMillis + " ms behind processing time " + nowMillis);
    }

    Map<String, String> attributeValues = new LinkedHashMap<>();
    if (hasAttributes) {
      for (Iterator<Map.Entry<String, JsonNode>> it = attributes.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        attributeValues.put(e.getKey(), e.getValue().textValue());
      }
    }
    return ParseResult.valid(
        new TelemetryRecord(eventId.textValue(), deviceId.textValue(), ts, metricValues, attributeValues));
  }

  private static ParseResult schema(String detail) {
    return ParseResult.invalid(DeadLetterReason.SCHEMA, detail);
  }

  private static boolean isString(JsonNode node) {
    return node != null && node.isTextual();
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "nothing (field missing)";
    }
    switch (node.getNodeType()) {
      case NULL:
        return "null";
      case OBJECT:
        return "an object";
      case ARRAY:
        return "an array";
      case BOOLEAN:
        return "boolean " + node.asText();
      case STRING:
        return "string '" + abbreviate(node.textValue()) + "'";
      case NUMBER:
        return "number " + abbreviate(node.asText());
      default:
        return node.getNodeType().name().toLowerCase(Locale.ROOT);
    }
  }

  /** Keeps details short: a hostile record must not make the dead-letter record much larger than itself. */
  static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 61) + "...";
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unparseable JSON";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
