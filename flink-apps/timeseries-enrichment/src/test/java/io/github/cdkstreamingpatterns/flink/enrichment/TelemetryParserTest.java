package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TelemetryParserTest {
    private static final long NOW = 1_764_403_200_000L;
    private final TelemetryParser parser = new TelemetryParser(new ProcessingSettings(
            Duration.ofMinutes(60),
            Duration.ofSeconds(30),
            Duration.ofSeconds(300),
            Duration.ofHours(24),
            Duration.ofSeconds(60)));

    private ParseResult parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8), NOW);
    }

    private static String record(String eventId, String deviceId, String timestamp, String metrics, String attrs) {
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"eventId\":").append(eventId);
        sb.append(",\"deviceId\":").append(deviceId);
        sb.append(",\"timestamp\":").append(timestamp);
        sb.append(",\"metrics\":").append(metrics);
        if (attrs != null) {
            sb.append(",\"attributes\":").append(attrs);
        }
        return sb.append("}").toString();
    }

    private static String valid(String metrics) {
        return record("\"e-1\"", "\"device-00042\"", String.valueOf(NOW - 1000), metrics, "{\"fw\":\"1.2.0\"}");
    }

    @Test
    void parsesTheContractExample() {
        ParseResult r = parse("{\"eventId\":\"6f1c\",\"deviceId\":\"device-00042\",\"timestamp\":"
                + (NOW + 123)
                + ",\"metrics\":{\"temperature\":21.4,\"humidity\":40},\"attributes\":{\"fw\":\"1.2.0\"}}");
        assertThat(r.isValid()).as(r.toString()).isTrue();
        TelemetryRecord rec = r.record();
        assertThat(rec.eventId).isEqualTo("6f1c");
        assertThat(rec.deviceId).isEqualTo("device-00042");
        assertThat(rec.timestamp).isEqualTo(NOW + 123);
        assertThat(rec.metrics).containsExactly(Map.entry("temperature", 21.4), Map.entry("humidity", 40.0));
        assertThat(rec.attributes).containsExactly(Map.entry("fw", "1.2.0"));
    }

    @Test
    void attributesAreOptionalAndNullMeansAbsent() {
        ParseResult absent = parse(record("\"e\"", "\"d\"", String.valueOf(NOW), "{\"t\":1}", null));
        ParseResult nul = parse(record("\"e\"", "\"d\"", String.valueOf(NOW), "{\"t\":1}", "null"));
        assertThat(absent.isValid()).isTrue();
        assertThat(absent.record().attributes).isEmpty();
        assertThat(nul.isValid()).isTrue();
        assertThat(nul.record().attributes).isEmpty();
    }

    @Test
    void unknownTopLevelFieldsAreIgnored() {
        String json = valid("{\"t\":1}").replaceFirst("\\{", "{\"schemaVersion\":2,");
        ParseResult r = parse(json);
        assertThat(r.isValid()).as(r.toString()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"eventId\":\"e\",", // truncated
                "hello",
                "{\"eventId\":\"e\"} trailing",
                "{} {}",
                "{'eventId':'e'}",
                "{\"eventId\":\"a\",\"eventId\":\"b\"}", // duplicate field names are ambiguous
                "   ",
                "{\"eventId\":\"e\",\"metrics\":{\"t\":01}}", // leading zero
            })
    void malformedJson(String payload) {
        ParseResult r = parse(payload);
        assertThat(r.isValid()).isFalse();
        assertThat(r.reason()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
        assertThat(r.detail()).isNotBlank();
    }

    @Test
    void emptyPayloadIsMalformed() {
        ParseResult r = parser.parse(new byte[0], NOW);
        assertThat(r.reason()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
        assertThat(r.detail()).isEqualTo("empty payload");
    }

    @Test
    void invalidUtf8IsMalformed() {
        ParseResult r = parser.parse(new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, NOW);
        assertThat(r.reason()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
        assertThat(r.detail()).isEqualTo("payload is not valid UTF-8");
    }

    @Test
    void utf16IsRejectedEvenThoughJacksonCouldReadIt() {
        ParseResult r = parser.parse(valid("{\"t\":1}").getBytes(StandardCharsets.UTF_16BE), NOW);
        assertThat(r.reason()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "array                   | [1,2]                 | record must be a JSON object, got an array",
                "string                  | \"text\"              | record must be a JSON object, got string 'text'",
                "number                  | 42                    | record must be a JSON object, got number 42",
                "null                    | null                  | record must be a JSON object, got null",
                "boolean                 | true                  | record must be a JSON object, got boolean true",
            })
    void nonObjectJsonIsSchema(String name, String payload, String detail) {
        ParseResult r = parse(payload);
        assertThat(r.reason()).isEqualTo(DeadLetterReason.SCHEMA);
        assertThat(r.detail()).isEqualTo(detail);
    }

    @ParameterizedTest(name = "missing {0}")
    @CsvSource({"eventId", "deviceId", "timestamp", "metrics"})
    void missingRequiredFieldIsSchema(String field) {
        String json = "{"
                + (field.equals("eventId") ? "" : "\"eventId\":\"e\",")
                + (field.equals("deviceId") ? "" : "\"deviceId\":\"d\",")
                + (field.equals("timestamp") ? "" : "\"timestamp\":" + NOW + ",")
                + (field.equals("metrics") ? "" : "\"metrics\":{\"t\":1},")
                + "\"attributes\":{}}";
        ParseResult r = parse(json);
        assertThat(r.reason()).isEqualTo(DeadLetterReason.SCHEMA);
        assertThat(r.detail()).startsWith(field + " must be").endsWith("nothing (field missing)");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "eventId number     | 12                  | \"d\"     | 1764403200000     | {\"t\":1}            | |eventId must be a string, got number 12",
                "eventId null       | null                | \"d\"     | 1764403200000     | {\"t\":1}            | |eventId must be a string, got null",
                "eventId empty      | \"\"                | \"d\"     | 1764403200000     | {\"t\":1}            | |eventId must have 1..128 characters, got 0",
                "deviceId object    | \"e\"               | {}        | 1764403200000     | {\"t\":1}            | |deviceId must be a string, got an object",
                "deviceId space     | \"e\"               | \"dev 1\" | 1764403200000     | {\"t\":1}            | |deviceId must match [A-Za-z0-9_.:-]{1,128}, got 'dev 1'",
                "deviceId empty     | \"e\"               | \"\"      | 1764403200000     | {\"t\":1}            | |deviceId must match [A-Za-z0-9_.:-]{1,128}, got ''",
                "deviceId slash     | \"e\"               | \"a/b\"   | 1764403200000     | {\"t\":1}            | |deviceId must match [A-Za-z0-9_.:-]{1,128}, got 'a/b'",
                "timestamp string   | \"e\"               | \"d\"     | \"1764403200000\" | {\"t\":1}            | |timestamp must be an integer number of epoch milliseconds, got string '1764403200000'",
                "timestamp float    | \"e\"               | \"d\"     | 1764403200000.5   | {\"t\":1}            | |timestamp must be an integer number of epoch milliseconds, got number 1.7644032000005E12",
                "metrics array      | \"e\"               | \"d\"     | 1764403200000     | [1]                  | |metrics must be an object, got an array",
                "metrics empty      | \"e\"               | \"d\"     | 1764403200000     | {}                   | |metrics must have 1..100 entries, got 0",
                "metric string      | \"e\"               | \"d\"     | 1764403200000     | {\"t\":\"21.4\"}     | |metrics.t must be a number, got string '21.4'",
                "metric boolean     | \"e\"               | \"d\"     | 1764403200000     | {\"t\":true}         | |metrics.t must be a number, got boolean true",
                "metric null        | \"e\"               | \"d\"     | 1764403200000     | {\"t\":null}         | |metrics.t must be a number, got null",
                "metric bad name    | \"e\"               | \"d\"     | 1764403200000     | {\"t-1\":1}          | |metric name must match [A-Za-z0-9_]{1,64}, got 't-1'",
                "metric empty name  | \"e\"               | \"d\"     | 1764403200000     | {\"\":1}             | |metric name must match [A-Za-z0-9_]{1,64}, got ''",
                "attributes array   | \"e\"               | \"d\"     | 1764403200000     | {\"t\":1}            | [\"a\"] |attributes must be an object of strings, got an array",
                "attribute number   | \"e\"               | \"d\"     | 1764403200000     | {\"t\":1}            | {\"fw\":1} |attributes.fw must be a string, got number 1",
            })
    void wrongTypesAndShapesAreSchema(
            String name, String eventId, String deviceId, String ts, String metrics, String attrs, String detail) {
        ParseResult r = parse(record(eventId, deviceId, ts, metrics, attrs));
        assertThat(r.reason()).as(r.toString()).isEqualTo(DeadLetterReason.SCHEMA);
        assertThat(r.detail()).isEqualTo(detail);
    }

    @Test
    void eventIdLengthLimitIs128() {
        String ok = "x".repeat(128);
        String tooLong = "x".repeat(129);
        assertThat(parse(record("\"" + ok + "\"", "\"d\"", String.valueOf(NOW), "{\"t\":1}", null))
                        .isValid())
                .isTrue();
        ParseResult r = parse(record("\"" + tooLong + "\"", "\"d\"", String.valueOf(NOW), "{\"t\":1}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.SCHEMA);
        assertThat(r.detail()).isEqualTo("eventId must have 1..128 characters, got 129");
    }

    @Test
    void deviceIdLengthLimitIs128AndDetailIsAbbreviated() {
        String ok = "d".repeat(128);
        assertThat(parse(record("\"e\"", "\"" + ok + "\"", String.valueOf(NOW), "{\"t\":1}", null))
                        .isValid())
                .isTrue();
        ParseResult r = parse(record("\"e\"", "\"" + ok + "d\"", String.valueOf(NOW), "{\"t\":1}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.SCHEMA);
        assertThat(r.detail()).contains("d".repeat(61) + "...").hasSizeLessThan(130);
    }

    @Test
    void deviceIdAllowsTheWholeCharacterSet() {
        assertThat(parse(record("\"e\"", "\"aZ09_.:-\"", String.valueOf(NOW), "{\"t\":1}", null))
                        .isValid())
                .isTrue();
    }

    private static String metrics(int n) {
        return IntStream.range(0, n).mapToObj(i -> "\"m" + i + "\":" + i).collect(Collectors.joining(",", "{", "}"));
    }

    @Test
    void metricCountLimitIs100() {
        assertThat(parse(valid(metrics(100))).isValid()).isTrue();
        ParseResult r = parse(valid(metrics(101)));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.SCHEMA);
        assertThat(r.detail()).isEqualTo("metrics must have 1..100 entries, got 101");
    }

    @Test
    void metricNameLimitIs64() {
        assertThat(parse(valid("{\"" + "m".repeat(64) + "\":1}")).isValid()).isTrue();
        assertThat(parse(valid("{\"" + "m".repeat(65) + "\":1}")).reason()).isEqualTo(DeadLetterReason.SCHEMA);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "overflowing float  | 1e400",
                "negative overflow  | -1e400",
                "just above 1e60   | 1.0000001e60",
                "1e101              | 1e101",
                "largest double     | 1.7976931348623157e308",
            })
    void metricBeyondTheDomainIsOutOfRange(String name, String value) {
        ParseResult r = parse(valid("{\"ok\":1,\"bad\":" + value + "}"));
        assertThat(r.reason()).as(r.toString()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
        assertThat(r.detail()).startsWith("metrics.bad must be a finite number of magnitude at most 1e60");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "NaN",
                "Infinity",
                "-Infinity",
                "+1",
                // 101 characters, one more than a number literal may have
                "1000000000" + "0000000000" + "0000000000" + "0000000000" + "0000000000" + "0000000000" + "0000000000"
                        + "0000000000" + "0000000000" + "0000000000" + "0",
            })
    void nonJsonNumbersAreMalformed(String value) {
        ParseResult r = parse(valid("{\"ok\":1,\"bad\":" + value + "}"));
        assertThat(r.reason()).as(r.toString()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
    }

    @Test
    void largeButInDomainMetricsAreValid() {
        ParseResult r = parse(valid("{\"big\":1e60,\"tiny\":4.9e-324,\"neg\":-12345678901234567890,\"z\":-0}"));
        assertThat(r.isValid()).as(r.toString()).isTrue();
        assertThat(r.record().metrics.get("big")).isEqualTo(1e60);
        assertThat(r.record().metrics.get("tiny")).isEqualTo(Double.MIN_VALUE);
        assertThat(r.record().metrics.get("neg")).isEqualTo(-1.2345678901234567e19);
        // -0 becomes +0 (the bits of +0.0 are all zero).
        assertThat(Double.doubleToRawLongBits(r.record().metrics.get("z"))).isZero();
    }

    @Test
    void timestampBeyond64BitsIsOutOfRange() {
        ParseResult r = parse(record("\"e\"", "\"d\"", "92233720368547758070", "{\"t\":1}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
        assertThat(r.detail()).endsWith(" is outside 0..253402300799999 (epoch milliseconds, years 1970-9999)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1764403200000.0", "1.7644032e12", "17644032000000e-1"})
    void timestampInAnyIntegerNotationIsAccepted(String ts) {
        ParseResult r = parse(record("\"e\"", "\"d\"", ts, "{\"t\":1}", null));
        assertThat(r.isValid()).as(r.toString()).isTrue();
        assertThat(r.record().timestamp).isEqualTo(NOW);
    }

    @Test
    void byteOrderMarkIsMalformedThoughJacksonWouldSkipIt() {
        byte[] json = valid("{\"t\":1}").getBytes(StandardCharsets.UTF_8);
        byte[] withBom = new byte[json.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(json, 0, withBom, 3, json.length);
        ParseResult r = parser.parse(withBom, NOW);
        assertThat(r.reason()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
        assertThat(r.detail()).isEqualTo("payload starts with a UTF-8 byte order mark");
    }

    @Test
    void schemaProblemsWinOverRangeProblems() {
        // Infinite metric (range) and a bad deviceId (schema): the schema problem is reported.
        ParseResult r = parse(record("\"e\"", "\"bad id\"", String.valueOf(NOW), "{\"t\":1e400}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.SCHEMA);
    }

    @Test
    void rangeProblemsWinOverTimestampWindow() {
        ParseResult r = parse(record("\"e\"", "\"d\"", String.valueOf(NOW + 3_600_000), "{\"t\":1e400}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
    }

    @Test
    void futureTimestampBoundaryIsInclusive() {
        long limit = NOW + 300_000;
        assertThat(parse(record("\"e\"", "\"d\"", String.valueOf(limit), "{\"t\":1}", null))
                        .isValid())
                .isTrue();
        ParseResult r = parse(record("\"e\"", "\"d\"", String.valueOf(limit + 1), "{\"t\":1}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.TIMESTAMP_FUTURE);
        assertThat(r.detail())
                .isEqualTo("timestamp " + (limit + 1) + " is more than 300000 ms ahead of processing time " + NOW);
    }

    @Test
    void pastTimestampBoundaryIsInclusive() {
        long limit = NOW - 24 * 3_600_000L;
        assertThat(parse(record("\"e\"", "\"d\"", String.valueOf(limit), "{\"t\":1}", null))
                        .isValid())
                .isTrue();
        ParseResult r = parse(record("\"e\"", "\"d\"", String.valueOf(limit - 1), "{\"t\":1}", null));
        assertThat(r.reason()).isEqualTo(DeadLetterReason.TIMESTAMP_PAST);
        assertThat(r.detail())
                .isEqualTo("timestamp " + (limit - 1) + " is more than 86400000 ms behind processing time " + NOW);
    }

    @Test
    void timestampsOutsideYears1970To9999AreOutOfRangeBeforeTheWindowCheck() {
        ParseResult max = parse(record("\"e\"", "\"d\"", String.valueOf(Long.MAX_VALUE), "{\"t\":1}", null));
        ParseResult min = parse(record("\"e\"", "\"d\"", String.valueOf(Long.MIN_VALUE), "{\"t\":1}", null));
        ParseResult negative = parse(record("\"e\"", "\"d\"", "-1", "{\"t\":1}", null));
        ParseResult nanos = parse(record("\"e\"", "\"d\"", NOW + "000000", "{\"t\":1}", null));
        assertThat(max.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
        assertThat(min.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
        assertThat(negative.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
        assertThat(nanos.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
    }
}
