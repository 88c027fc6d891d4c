package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Laws of the telemetry parser over generated input (the TypeScript parser has the same ones, with fast-check). */
class TelemetryParserPropertiesTest {
    private static final long NOW = 1_764_403_200_000L;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private final TelemetryParser parser = new TelemetryParser(new ProcessingSettings(
            Duration.ofMinutes(60),
            Duration.ofSeconds(30),
            Duration.ofSeconds(300),
            Duration.ofHours(24),
            Duration.ofSeconds(60)));

    /** A verdict, never an exception: a record, or a known reason with a short detail. */
    private static void assertVerdict(ParseResult r) {
        assertThat(r).isNotNull();
        if (r.isValid()) {
            assertThat(r.record()).isNotNull();
        } else {
            assertThat(r.reason()).isNotNull().isNotEqualTo(DeadLetterReason.RECORD_TOO_LARGE);
            assertThat(r.detail()).isNotNull();
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void arbitraryBytesGetAVerdict(@ForAll byte[] bytes) {
        assertVerdict(parser.parse(bytes, NOW));
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void arbitraryStringsGetAVerdict(@ForAll("anyString") String s) {
        assertVerdict(parser.parse(s.getBytes(StandardCharsets.UTF_8), NOW));
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void arbitraryTextInsideARecordGetsAVerdict(@ForAll("anyString") String s, @ForAll("records") TelemetryRecord r) {
        String json = serialize(r);
        int at = Math.min(json.length(), Math.floorMod(s.hashCode(), json.length() + 1));
        assertVerdict(
                parser.parse((json.substring(0, at) + s + json.substring(at)).getBytes(StandardCharsets.UTF_8), NOW));
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void validRecordsRoundTrip(@ForAll("records") TelemetryRecord r) {
        ParseResult result = parser.parse(serialize(r).getBytes(StandardCharsets.UTF_8), NOW);
        assertThat(result.isValid()).as(result.toString()).isTrue();
        assertThat(result.record()).isEqualTo(r);
    }

    @Property(seed = PropertySeed.SEED, tries = 200)
    void ignoredJsonValuesDoNotChangeTheRecord(@ForAll("records") TelemetryRecord r, @ForAll("jsonValues") JsonNode v) {
        String json = serialize(r);
        String withExtra = "{\"extra\":" + v + "," + json.substring(1);
        ParseResult result = parser.parse(withExtra.getBytes(StandardCharsets.UTF_8), NOW);
        assertThat(result.isValid()).as(result.toString()).isTrue();
        assertThat(result.record()).isEqualTo(r);
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void anEventIdIsValidExactlyWhenItIsWellFormedUtf16(@ForAll("anyString") String eventId) {
        String id = eventId.isEmpty() ? "x" : eventId.length() > 128 ? eventId.substring(0, 128) : eventId;
        String json = "{\"eventId\":\"" + escapeAll(id) + "\",\"deviceId\":\"d\",\"timestamp\":" + NOW
                + ",\"metrics\":{\"t\":1}}";
        ParseResult result = parser.parse(json.getBytes(StandardCharsets.UTF_8), NOW);
        if (isWellFormed(id)) {
            assertThat(result.isValid()).as(result.toString()).isTrue();
            assertThat(result.record().eventId).isEqualTo(id);
        } else {
            assertThat(result.reason()).isEqualTo(DeadLetterReason.MALFORMED_JSON);
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void metricsAreValidExactlyInsideTheDomain(@ForAll double value) {
        String json = "{\"eventId\":\"e\",\"deviceId\":\"d\",\"timestamp\":" + NOW + ",\"metrics\":{\"t\":"
                + (Double.isFinite(value) ? Double.toString(value) : value > 0 ? "1e400" : "-1e400") + "}}";
        ParseResult result = parser.parse(json.getBytes(StandardCharsets.UTF_8), NOW);
        if (Double.isNaN(value)) {
            assertThat(result.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE); // "1e400"
        } else if (Math.abs(value) <= 1e60) {
            assertThat(result.record().metrics.get("t")).isEqualTo(value + 0.0);
        } else {
            assertThat(result.reason()).isEqualTo(DeadLetterReason.OUT_OF_RANGE);
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 1000)
    void theNameChecksAgreeWithTheContractsPatterns(@ForAll("nameLike") String s) {
        assertThat(TelemetryParser.isDeviceId(s))
                .isEqualTo(TelemetryParser.DEVICE_ID.matcher(s).matches());
        assertThat(TelemetryParser.isMetricName(s))
                .isEqualTo(TelemetryParser.METRIC_NAME.matcher(s).matches());
    }

    @Provide
    Arbitrary<String> nameLike() {
        return Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(130),
                Arbitraries.strings()
                        .withCharRange('a', 'z')
                        .withCharRange('A', 'Z')
                        .withCharRange('0', '9')
                        .withChars('_', '.', ':', '-', '/', ' ', '\u00e9', '\u0661', '\u212a')
                        .ofMaxLength(130));
    }

    @Provide
    Arbitrary<String> anyString() {
        return Arbitraries.strings().all().ofMaxLength(60);
    }

    @Provide
    Arbitrary<TelemetryRecord> records() {
        Arbitrary<String> text =
                Arbitraries.strings().all().ofMaxLength(12).filter(TelemetryParserPropertiesTest::isWellFormed);
        Arbitrary<String> eventIds = text.filter(s -> !s.isEmpty());
        Arbitrary<String> deviceIds = Arbitraries.strings()
                .withCharRange('a', 'z')
                .withCharRange('A', 'Z')
                .withCharRange('0', '9')
                .withChars('_', '.', ':', '-')
                .ofMinLength(1)
                .ofMaxLength(128);
        Arbitrary<Long> timestamps = Arbitraries.longs().between(NOW - 86_400_000L, NOW + 300_000L);
        Arbitrary<String> names = Arbitraries.strings()
                .withCharRange('a', 'z')
                .withCharRange('0', '9')
                .withChars('_')
                .ofMinLength(1)
                .ofMaxLength(64)
                // The one name the contract reserves (see TelemetryParser.RESERVED_METRIC_NAME).
                .filter(n -> !n.equals(TelemetryParser.RESERVED_METRIC_NAME));
        Arbitrary<Double> values = Arbitraries.oneOf(
                Arbitraries.doubles().between(-1e60, 1e60),
                Arbitraries.of(0.0, 1e60, -1e60, Double.MIN_VALUE, 9007199254740993.0, 1e-300));
        Arbitrary<Map<String, Double>> metrics =
                Arbitraries.maps(names, values).ofMinSize(1).ofMaxSize(10);
        Arbitrary<Map<String, String>> attributes = Arbitraries.maps(text, text).ofMaxSize(4);
        return Combinators.combine(eventIds, deviceIds, timestamps, metrics, attributes)
                .as((e, d, t, m, a) -> new TelemetryRecord(e, d, t, new LinkedHashMap<>(m), new LinkedHashMap<>(a)));
    }

    @Provide
    Arbitrary<JsonNode> jsonValues() {
        Arbitrary<JsonNode> leaves = Arbitraries.oneOf(
                Arbitraries.strings()
                        .all()
                        .ofMaxLength(10)
                        .filter(TelemetryParserPropertiesTest::isWellFormed)
                        .map(NODES::textNode),
                Arbitraries.doubles().map(NODES::numberNode),
                Arbitraries.longs().map(NODES::numberNode),
                Arbitraries.of(NODES.booleanNode(true), NODES.booleanNode(false), NODES.nullNode()));
        return Arbitraries.recursive(
                () -> leaves,
                inner -> Arbitraries.oneOf(
                        inner.list().ofMaxSize(4).map(TelemetryParserPropertiesTest::array),
                        Arbitraries.maps(
                                        Arbitraries.strings()
                                                .all()
                                                .ofMaxLength(6)
                                                .filter(TelemetryParserPropertiesTest::isWellFormed),
                                        inner)
                                .ofMaxSize(4)
                                .map(TelemetryParserPropertiesTest::object)),
                0,
                6);
    }

    private static JsonNode array(List<JsonNode> items) {
        ArrayNode a = NODES.arrayNode();
        items.forEach(a::add);
        return a;
    }

    private static JsonNode object(Map<String, JsonNode> fields) {
        ObjectNode o = NODES.objectNode();
        fields.forEach(o::set);
        return o;
    }

    static String serialize(TelemetryRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("eventId", r.eventId);
        m.put("deviceId", r.deviceId);
        m.put("timestamp", r.timestamp);
        m.put("metrics", r.metrics);
        m.put("attributes", r.attributes);
        try {
            return Json.MAPPER.writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** JSON string content with every character outside printable ASCII as a \\u escape (lone surrogates included). */
    private static String escapeAll(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                sb.append(c);
            } else {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            }
        }
        return sb.toString();
    }

    static boolean isWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
