package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The serializer's own writer ({@link PlainJson}) against the Jackson generator it replaces for plain records: on
 * arbitrary records, plain or not, {@link EnrichedRecordSerializationSchema#serialize} gives exactly the bytes Jackson
 * gives, and the plain writer answers only for records without anything to escape.
 */
class EnrichedRecordSerializationPropertiesTest {
    private static final EnrichedRecordSerializationSchema SCHEMA = new EnrichedRecordSerializationSchema();

    @Property(seed = PropertySeed.SEED, tries = 1000)
    void sameBytesAsJacksonOnPlainRecords(@ForAll("plainRecords") EnrichedRecord r) {
        byte[] plain = PlainJson.enriched(r);
        assertThat(plain).isNotNull();
        assertThat(new String(plain, StandardCharsets.UTF_8))
                .isEqualTo(new String(EnrichedRecordSerializationSchema.withJackson(r), StandardCharsets.UTF_8));
    }

    @Property(seed = PropertySeed.SEED, tries = 1000)
    void sameBytesAsJacksonOnAnyRecord(@ForAll("anyRecords") EnrichedRecord r) {
        assertThat(SCHEMA.serialize(r)).isEqualTo(EnrichedRecordSerializationSchema.withJackson(r));
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void aStringThatNeedsEscapingLeavesTheRecordToJackson(
            @ForAll("plainRecords") EnrichedRecord r, @ForAll("escapedChars") char c) {
        r.attributes = new LinkedHashMap<>(r.attributes);
        r.attributes.put("k", "a" + c + "b");
        assertThat(PlainJson.enriched(r)).isNull();
        assertThat(SCHEMA.serialize(r)).isEqualTo(EnrichedRecordSerializationSchema.withJackson(r));
    }

    @Test
    void nullsAndNonFiniteMetricsLeaveTheRecordToJackson() {
        EnrichedRecord r = record("e", "d", Map.of("t", 1.0), Map.of(), Map.of());
        r.attributes = null;
        assertThat(PlainJson.enriched(r)).isNull();
        assertThat(SCHEMA.serialize(r)).isEqualTo(EnrichedRecordSerializationSchema.withJackson(r));
        EnrichedRecord nan = record("e", "d", Map.of("t", Double.NaN), Map.of(), Map.of());
        assertThat(PlainJson.enriched(nan)).isNull();
        assertThat(SCHEMA.serialize(nan)).isEqualTo(EnrichedRecordSerializationSchema.withJackson(nan));
    }

    private static EnrichedRecord record(
            String eventId,
            String deviceId,
            Map<String, Double> metrics,
            Map<String, String> attributes,
            Map<String, String> metadata) {
        EnrichedRecord r = new EnrichedRecord();
        r.eventId = eventId;
        r.deviceId = deviceId;
        r.timestamp = 1_764_403_200_123L;
        r.metrics = new LinkedHashMap<>(metrics);
        r.attributes = new LinkedHashMap<>(attributes);
        r.metadata = new LinkedHashMap<>(metadata);
        r.enriched = !metadata.isEmpty();
        r.processedAt = 1_764_403_201_000L;
        return r;
    }

    @Provide
    Arbitrary<Character> escapedChars() {
        return Arbitraries.oneOf(
                Arbitraries.chars().range('\u0000', '\u001f'),
                Arbitraries.of('"', '\\', '\u007f', '\u00e9', '\u20ac', '\ud83d', '\ude00', '\uffff'));
    }

    @Provide
    Arbitrary<EnrichedRecord> plainRecords() {
        Arbitrary<String> plain = Arbitraries.strings()
                .withCharRange(' ', '~')
                .ofMaxLength(20)
                .filter(s -> s.indexOf('"') < 0 && s.indexOf('\\') < 0);
        return records(plain, true);
    }

    @Provide
    Arbitrary<EnrichedRecord> anyRecords() {
        return Arbitraries.oneOf(
                plainRecords(),
                records(Arbitraries.strings().all().ofMaxLength(12), false),
                records(
                        Arbitraries.strings()
                                .withCharRange(' ', '~')
                                .withChars('\n', '\t', '\u0000', '\u00e9', '\ud83d', '\ude00', '\u2028')
                                .ofMaxLength(12),
                        false));
    }

    private static Arbitrary<EnrichedRecord> records(Arbitrary<String> text, boolean finite) {
        Arbitrary<Double> anyValue = Arbitraries.oneOf(
                Arbitraries.doubles(),
                Arbitraries.doubles().between(-1e4, 1e4).map(d -> Math.round(d * 100) / 100.0),
                Arbitraries.of(
                        0.0,
                        -0.0,
                        1e60,
                        -1e60,
                        1e7,
                        1e-3,
                        9.999999999999999e-4,
                        Double.MIN_VALUE,
                        Double.MAX_VALUE,
                        9007199254740993.0,
                        1e23,
                        Double.NaN,
                        Double.POSITIVE_INFINITY));
        Arbitrary<Double> values = finite ? anyValue.filter(Double::isFinite) : anyValue;
        Arbitrary<Map<String, Double>> metrics =
                Arbitraries.maps(text, values).ofMaxSize(8).map(LinkedHashMap::new);
        Arbitrary<Map<String, String>> strings =
                Arbitraries.maps(text, text).ofMaxSize(4).map(LinkedHashMap::new);
        Arbitrary<Long> longs = Arbitraries.oneOf(
                Arbitraries.longs(), Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1_764_403_200_123L));
        return Combinators.combine(text, text, longs, metrics, strings, strings, Arbitraries.of(true, false), longs)
                .as((e, d, t, m, a, md, enriched, at) -> {
                    EnrichedRecord r = new EnrichedRecord();
                    r.eventId = e;
                    r.deviceId = d;
                    r.timestamp = t;
                    r.metrics = m;
                    r.attributes = a;
                    r.metadata = md;
                    r.enriched = enriched;
                    r.processedAt = at;
                    return r;
                });
    }
}
