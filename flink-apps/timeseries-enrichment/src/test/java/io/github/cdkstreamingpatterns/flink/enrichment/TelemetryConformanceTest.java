package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the telemetry contract fixtures that the TypeScript parser runs too (test/lambda/shared/
 * telemetry-conformance.test.ts): every line must get the verdict, and for a valid record the parsed record, it
 * expects. The fixtures live at the repository root and are written by test/fixtures/generate-telemetry-fixtures.ts.
 */
class TelemetryConformanceTest {
    /** Relative to this module's directory, which is surefire's working directory. */
    static final Path FIXTURES = Path.of("..", "..", "test", "fixtures");

    static final long DEFAULT_NOW = 1_764_403_200_000L;
    static final long DEFAULT_FUTURE_SKEW = 300_000L;
    static final long DEFAULT_PAST_AGE = 86_400_000L;

    @TestFactory
    Stream<DynamicTest> conformanceCorpus() throws IOException {
        return cases("telemetry-conformance.jsonl");
    }

    @TestFactory
    Stream<DynamicTest> generatedCorpus() throws IOException {
        return cases("telemetry-generated.jsonl");
    }

    static List<JsonNode> load(String file) throws IOException {
        Path path = FIXTURES.resolve(file).toAbsolutePath().normalize();
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException("telemetry fixture " + path
                    + " is missing: the tests must run from flink-apps/timeseries-enrichment "
                    + "inside the repository (regenerate with test/fixtures/generate-telemetry-fixtures.ts)");
        }
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
            if (!line.isEmpty()) {
                lines.add(Json.MAPPER.readTree(line));
            }
        }
        assertThat(lines).as(path.toString()).isNotEmpty();
        return lines;
    }

    private static Stream<DynamicTest> cases(String file) throws IOException {
        return load(file).stream()
                .map(line -> DynamicTest.dynamicTest(line.get("name").textValue(), () -> check(line)));
    }

    /** The payload of a line: its bytes, padded with an ignored "pad" field to padToBytes when it has one. */
    static byte[] payloadOf(JsonNode line) {
        byte[] raw = line.has("inputBase64")
                ? Base64.getDecoder().decode(line.get("inputBase64").textValue())
                : line.get("input").textValue().getBytes(StandardCharsets.UTF_8);
        if (!line.has("padToBytes")) {
            return raw;
        }
        int target = line.get("padToBytes").intValue();
        int filler = target - raw.length - "\"pad\":\"\",".length();
        assertThat(raw[0]).isEqualTo((byte) '{');
        assertThat(filler).isNotNegative();
        byte[] head = ("{\"pad\":\"" + "x".repeat(filler) + "\",").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + raw.length - 1];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(raw, 1, out, head.length, raw.length - 1);
        assertThat(out).hasSize(target);
        return out;
    }

    private static void check(JsonNode line) {
        JsonNode window = line.get("window");
        long now = window == null ? DEFAULT_NOW : window.get("nowMs").longValue();
        long skew = window == null
                ? DEFAULT_FUTURE_SKEW
                : window.get("maxFutureSkewMs").longValue();
        long past =
                window == null ? DEFAULT_PAST_AGE : window.get("maxPastAgeMs").longValue();
        TelemetryParser parser = new TelemetryParser(new ProcessingSettings(
                Duration.ofMinutes(60),
                Duration.ofSeconds(30),
                Duration.ofMillis(skew),
                Duration.ofMillis(past),
                Duration.ofSeconds(60)));
        ParseResult result = parser.parse(payloadOf(line), now);
        String verdict = result.isValid() ? "ok" : result.reason().name();
        assertThat(verdict).as(result.toString()).isEqualTo(line.get("verdict").textValue());
        if (result.isValid()) {
            // Double.equals tells -0.0 from 0.0, so a -0 left in the result fails here.
            assertThat(result.record()).isEqualTo(expectedRecord(line.get("parsed")));
        }
    }

    static TelemetryRecord expectedRecord(JsonNode parsed) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        parsed.get("metrics")
                .properties()
                .forEach(e -> metrics.put(e.getKey(), e.getValue().doubleValue()));
        Map<String, String> attributes = new LinkedHashMap<>();
        parsed.get("attributes")
                .properties()
                .forEach(e -> attributes.put(e.getKey(), e.getValue().textValue()));
        return new TelemetryRecord(
                parsed.get("eventId").textValue(),
                parsed.get("deviceId").textValue(),
                parsed.get("timestamp").longValue(),
                metrics,
                attributes);
    }
}
