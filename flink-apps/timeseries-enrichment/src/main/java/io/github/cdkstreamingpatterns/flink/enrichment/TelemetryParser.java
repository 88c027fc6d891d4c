package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Parses and validates one raw record against the telemetry record contract.
 *
 * <p>Checks run in three passes so the reason reported is the most fundamental one: first the JSON itself
 * (MALFORMED_JSON), then shape and types of every field (SCHEMA), then values (OUT_OF_RANGE), and last the event
 * time window (TIMESTAMP_FUTURE / TIMESTAMP_PAST). Unknown top-level fields are ignored so producers can add fields
 * before this application knows them; they are not forwarded.
 *
 * <p>The same contract is implemented in TypeScript ({@code lambda/shared/telemetry.ts}, used by the Lambda
 * calculator); both give the same verdict on every line of {@code test/fixtures/telemetry-conformance.jsonl} and
 * {@code test/fixtures/telemetry-generated.jsonl}, and {@code docs/guarantees.md} states the rules. For that, JSON is
 * read here token by token rather than with Jackson's tree model: every number is parsed from its literal to the
 * nearest double (as JavaScript does, so {@code 1700000000000.0} and {@code 1.7e12} are integers and no
 * BigInteger/BigDecimal distinction changes a verdict), NaN/Infinity literals are not JSON, a UTF-8 byte order mark
 * is rejected rather than skipped, and the limits on depth, number and key length apply in ignored fields too.
 */
public final class TelemetryParser implements Serializable {
    private static final long serialVersionUID = 1L;

    static final int MAX_EVENT_ID_LENGTH = 128;
    static final int MAX_METRICS = 100;
    static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9_.:-]{1,128}");
    static final Pattern METRIC_NAME = Pattern.compile("[A-Za-z0-9_]{1,64}");

    /** Largest accepted payload, the Kinesis default record size. */
    static final int MAX_PAYLOAD_BYTES = 1024 * 1024;
    /** Containers (objects and arrays) open at once anywhere in the document; the record object is level 1. */
    static final int MAX_DEPTH = 64;
    /** Characters of one number literal, sign and exponent included. */
    static final int MAX_NUMBER_LENGTH = 100;
    /** UTF-16 code units of one decoded object key (Jackson's default name limit). */
    static final int MAX_NAME_LENGTH = 50_000;
    /** Largest accepted metric magnitude, so squares and sums downstream stay finite. */
    static final String RESERVED_METRIC_NAME = "__proto__";

    static final double MAX_METRIC_MAGNITUDE = 1e60;
    /** 9999-12-31T23:59:59.999Z in epoch milliseconds: the largest accepted timestamp (the smallest is 0). */
    static final long MAX_TIMESTAMP_MILLIS = 253_402_300_799_999L;

    /**
     * Field names are not canonicalized (no shared symbol table a hostile record could flood); Jackson's own name
     * limit is set above ours so that ours decides.
     */
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNameLength(2 * MAX_PAYLOAD_BYTES)
                    .maxNestingDepth(MAX_DEPTH + 1)
                    .build())
            .build();

    /** JSON null in a parsed document (a Java null means "field missing"). */
    private static final Object JSON_NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    private final long maxFutureSkewMillis;
    private final long maxPastAgeMillis;

    public TelemetryParser(ProcessingSettings settings) {
        this.maxFutureSkewMillis = settings.maxFutureSkew().toMillis();
        this.maxPastAgeMillis = settings.maxPastAge().toMillis();
    }

    /** A MALFORMED_JSON finding of the document reader. */
    private static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * @param payload the raw Kinesis record data
     * @param nowMillis processing time the timestamp window is measured from
     */
    public ParseResult parse(byte[] payload, long nowMillis) {
        if (payload == null || payload.length == 0) {
            return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "empty payload");
        }
        if (payload.length > MAX_PAYLOAD_BYTES) {
            return ParseResult.invalid(
                    DeadLetterReason.MALFORMED_JSON,
                    "payload has " + payload.length + " bytes, more than " + MAX_PAYLOAD_BYTES);
        }
        if (payload.length >= 3
                && payload[0] == (byte) 0xEF
                && payload[1] == (byte) 0xBB
                && payload[2] == (byte) 0xBF) {
            return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "payload starts with a UTF-8 byte order mark");
        }
        // Decoded up front because Jackson would otherwise auto-detect UTF-16/32 and accept them; the contract is
        // UTF-8.
        String text = Json.strictUtf8(payload);
        if (text == null) {
            return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "payload is not valid UTF-8");
        }
        Object root;
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "payload holds no JSON value");
            }
            root = readValue(p, first, 0);
            if (p.nextToken() != null) {
                return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, "trailing data after the JSON value");
            }
        } catch (Malformed e) {
            return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, e.getMessage());
        } catch (JacksonException e) {
            return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            return ParseResult.invalid(DeadLetterReason.MALFORMED_JSON, String.valueOf(e.getMessage()));
        }
        if (!(root instanceof Map)) {
            return schema("record must be a JSON object, got " + describe(root));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> record = (Map<String, Object>) root;

        // Pass 1: shape and types.
        Object eventId = record.get("eventId");
        if (!(eventId instanceof String)) {
            return schema("eventId must be a string, got " + describe(eventId));
        }
        int eventIdLength = ((String) eventId).length();
        if (eventIdLength == 0 || eventIdLength > MAX_EVENT_ID_LENGTH) {
            return schema("eventId must have 1.." + MAX_EVENT_ID_LENGTH + " characters, got " + eventIdLength);
        }
        Object deviceId = record.get("deviceId");
        if (!(deviceId instanceof String)) {
            return schema("deviceId must be a string, got " + describe(deviceId));
        }
        if (!isDeviceId((String) deviceId)) {
            return schema(
                    "deviceId must match " + DEVICE_ID.pattern() + ", got '" + abbreviate((String) deviceId) + "'");
        }
        Object timestamp = record.get("timestamp");
        // Any notation of an integer is one (1.7e12, 1700000000000.0). Infinity comes from a literal too large for a
        // double: a value problem (OUT_OF_RANGE below), not a type problem.
        if (!(timestamp instanceof Double) || (Double.isFinite((Double) timestamp) && !isInteger((Double) timestamp))) {
            return schema("timestamp must be an integer number of epoch milliseconds, got " + describe(timestamp));
        }
        Object metricsValue = record.get("metrics");
        if (!(metricsValue instanceof Map)) {
            return schema("metrics must be an object, got " + describe(metricsValue));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> metrics = (Map<String, Object>) metricsValue;
        if (metrics.isEmpty() || metrics.size() > MAX_METRICS) {
            return schema("metrics must have 1.." + MAX_METRICS + " entries, got " + metrics.size());
        }
        for (Map.Entry<String, Object> e : metrics.entrySet()) {
            if (!isMetricName(e.getKey())) {
                return schema(
                        "metric name must match " + METRIC_NAME.pattern() + ", got '" + abbreviate(e.getKey()) + "'");
            }
            if (RESERVED_METRIC_NAME.equals(e.getKey())) {
                // The Lambda calculator stores metrics as DynamoDB map keys; JavaScript marshallers cannot write this
                // one.
                return schema(
                        "metric name '__proto__' is reserved: it cannot be stored as a DynamoDB map key by the AWS SDK for JavaScript");
            }
            if (!(e.getValue() instanceof Double)) {
                return schema("metrics." + e.getKey() + " must be a number, got " + describe(e.getValue()));
            }
        }
        Object attributesValue = record.get("attributes");
        boolean hasAttributes = attributesValue != null && attributesValue != JSON_NULL;
        Map<String, Object> attributes = Map.of();
        if (hasAttributes) {
            if (!(attributesValue instanceof Map)) {
                return schema("attributes must be an object of strings, got " + describe(attributesValue));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> a = (Map<String, Object>) attributesValue;
            attributes = a;
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                if (!(e.getValue() instanceof String)) {
                    return schema("attributes." + abbreviate(e.getKey()) + " must be a string, got "
                            + describe(e.getValue()));
                }
            }
        }

        // Pass 2: values.
        double rawTimestamp = (Double) timestamp;
        if (!(rawTimestamp >= 0 && rawTimestamp <= MAX_TIMESTAMP_MILLIS)) {
            return ParseResult.invalid(
                    DeadLetterReason.OUT_OF_RANGE,
                    "timestamp "
                            + abbreviate(formatNumber(rawTimestamp))
                            + " is outside 0.."
                            + MAX_TIMESTAMP_MILLIS
                            + " (epoch milliseconds, years 1970-9999)");
        }
        Map<String, Double> metricValues = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : metrics.entrySet()) {
            double value = (Double) e.getValue();
            if (!(Math.abs(value) <= MAX_METRIC_MAGNITUDE)) {
                return ParseResult.invalid(
                        DeadLetterReason.OUT_OF_RANGE,
                        "metrics."
                                + e.getKey()
                                + " must be a finite number of magnitude at most 1e60, got "
                                + abbreviate(formatNumber(value)));
            }
            metricValues.put(e.getKey(), value + 0.0); // -0.0 becomes 0.0
        }

        // Pass 3: event time window.
        long ts = (long) rawTimestamp; // exact: an integer in 0..MAX_TIMESTAMP_MILLIS; -0.0 becomes 0
        // Compared against the bounds, not by subtracting from ts, so extreme timestamps cannot overflow.
        if (ts > nowMillis + maxFutureSkewMillis) {
            return ParseResult.invalid(
                    DeadLetterReason.TIMESTAMP_FUTURE,
                    "timestamp " + ts + " is more than " + maxFutureSkewMillis + " ms ahead of processing time "
                            + nowMillis);
        }
        if (ts < nowMillis - maxPastAgeMillis) {
            return ParseResult.invalid(
                    DeadLetterReason.TIMESTAMP_PAST,
                    "timestamp " + ts + " is more than " + maxPastAgeMillis + " ms behind processing time "
                            + nowMillis);
        }

        Map<String, String> attributeValues = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : attributes.entrySet()) {
            attributeValues.put(e.getKey(), (String) e.getValue());
        }
        return ParseResult.valid(
                new TelemetryRecord((String) eventId, (String) deviceId, ts, metricValues, attributeValues));
    }

    /**
     * Reads the value that starts with {@code token}: objects as LinkedHashMap, arrays as ArrayList, numbers as the
     * nearest Double, strings, Booleans and {@link #JSON_NULL}. {@code depth} is the number of containers around it.
     */
    private static Object readValue(JsonParser p, JsonToken token, int depth) throws IOException, Malformed {
        switch (token) {
            case START_OBJECT: {
                checkDepth(depth + 1);
                Map<String, Object> map = new LinkedHashMap<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                    String name = p.currentName();
                    if (name.length() > MAX_NAME_LENGTH) {
                        throw new Malformed(
                                "object key has " + name.length() + " characters, more than " + MAX_NAME_LENGTH);
                    }
                    checkSurrogates(name);
                    // Duplicates were already rejected by STRICT_DUPLICATE_DETECTION.
                    map.put(name, readValue(p, p.nextToken(), depth + 1));
                }
                return map;
            }
            case START_ARRAY: {
                checkDepth(depth + 1);
                List<Object> list = new ArrayList<>();
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    list.add(readValue(p, t, depth + 1));
                }
                return list;
            }
            case VALUE_STRING: {
                String text = p.getText();
                checkSurrogates(text);
                return text;
            }
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT: {
                int length = p.getTextLength();
                if (length > MAX_NUMBER_LENGTH) {
                    throw new Malformed("number literal has " + length + " characters, more than " + MAX_NUMBER_LENGTH);
                }
                // The literal itself, rounded once to the nearest double (what JSON.parse does).
                return Double.parseDouble(p.getText());
            }
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return JSON_NULL;
            default:
                throw new Malformed("unexpected token " + token);
        }
    }

    private static void checkDepth(int depth) throws Malformed {
        if (depth > MAX_DEPTH) {
            throw new Malformed("nesting is deeper than " + MAX_DEPTH + " levels");
        }
    }

    /** Rejects a UTF-16 surrogate without its pair (only an escape of a lone surrogate can produce one). */
    private static void checkSurrogates(String s) throws Malformed {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    throw new Malformed("string holds an unpaired UTF-16 surrogate escape");
                }
            }
        }
    }

    /** {@code DEVICE_ID.matcher(s).matches()}, without a matcher per record. */
    static boolean isDeviceId(String s) {
        int n = s.length();
        if (n < 1 || n > 128) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (!isWordChar(c) && c != '.' && c != ':' && c != '-') {
                return false;
            }
        }
        return true;
    }

    /** {@code METRIC_NAME.matcher(s).matches()}, without a matcher per record. */
    static boolean isMetricName(String s) {
        int n = s.length();
        if (n < 1 || n > 64) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (!isWordChar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code [A-Za-z0-9_]}. */
    private static boolean isWordChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }

    private static boolean isInteger(double d) {
        return d == Math.rint(d);
    }

    private static ParseResult schema(String detail) {
        return ParseResult.invalid(DeadLetterReason.SCHEMA, detail);
    }

    private static String describe(Object value) {
        if (value == null) {
            return "nothing (field missing)";
        }
        if (value == JSON_NULL) {
            return "null";
        }
        if (value instanceof Map) {
            return "an object";
        }
        if (value instanceof List) {
            return "an array";
        }
        if (value instanceof Boolean) {
            return "boolean " + value;
        }
        if (value instanceof String) {
            return "string '" + abbreviate((String) value) + "'";
        }
        return "number " + abbreviate(formatNumber((Double) value));
    }

    /** Integers below 1e21 without a fraction or exponent (as JavaScript prints them), other values as Java does. */
    static String formatNumber(double d) {
        if (Double.isFinite(d) && isInteger(d) && Math.abs(d) < 1e21) {
            return new BigDecimal(d).toPlainString();
        }
        return Double.toString(d);
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
