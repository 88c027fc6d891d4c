package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;

/**
 * Laws of the real validate -> dedupe -> enrich chain (the three functions of {@link EnrichmentJob}, each in Flink's
 * operator test harness) over generated input streams: fresh valid records for known, unknown and oversized-metadata
 * devices; redeliveries (same bytes, or the same content re-serialized); conflicting records that reuse an eventId;
 * invalid records of every parser reason; arbitrary bytes; and a processing time that advances between records.
 *
 * <p>On every try: each delivery has exactly one fate (enriched, dead-lettered, or counted as duplicate), so received =
 * enriched + dead-lettered + duplicates; an eventId is enriched at most once and with the first valid record's content;
 * every dead letter carries the reason and detail {@link TelemetryParser} gives for those bytes at that processing
 * time, the original bytes and the time; enriched records carry the reference metadata of known devices and {@code
 * enriched=false} for unknown ones. The restore variant snapshots the dedupe operator midway, restores it into a new
 * harness, and replays the first part among the rest: the outcome is the same as without the restart.
 */
class EnrichmentChainPropertiesTest {
    private static final long START = 1_764_403_200_000L;
    private static final ProcessingSettings SETTINGS = new ProcessingSettings(
            Duration.ofMinutes(60),
            Duration.ofSeconds(30),
            Duration.ofSeconds(300),
            Duration.ofHours(24),
            Duration.ofSeconds(60));
    private static final long SKEW = SETTINGS.maxFutureSkew().toMillis();
    private static final long PAST_AGE = SETTINGS.maxPastAge().toMillis();
    /** Total advance of processing time in one try stays below the dedupe TTL, so "at most once" is exact. */
    private static final long MAX_ADVANCE_PER_STEP = 20_000L;

    private static final String HUGE_DEVICE = "device-huge";
    private static final Map<String, Map<String, String>> DEVICES = new HashMap<>();

    static {
        DEVICES.put("device-00001", Map.of("site", "plant-1", "deviceType", "thermostat", "region", "eu-west-1"));
        DEVICES.put("device-00002", Map.of("site", "plant-2", "deviceType", "meter"));
        DEVICES.put("Device-I", Map.of("site", "İstanbul", "note", "ı/İ/i/I must not be case-folded"));
        DEVICES.put("a.b:c_d-1", Map.of());
        // Only absurd reference data makes a small record too large for Kinesis once enriched (RECORD_TOO_LARGE).
        DEVICES.put(HUGE_DEVICE, Map.of("notes", "n".repeat((int) EnrichmentJob.MAX_RECORD_BYTES)));
    }

    private static final ReferenceData REFERENCE = new ReferenceData(DEVICES, 0);
    private static final TelemetryParser PARSER = new TelemetryParser(SETTINGS);

    // ---------------------------------------------------------------------------------------------------------------
    // Generated input

    enum Kind {
        FRESH,
        REDELIVER_SAME_BYTES,
        REDELIVER_REFORMATTED,
        CONFLICT,
        MALFORMED,
        SCHEMA,
        OUT_OF_RANGE,
        FUTURE,
        PAST,
        ARBITRARY_BYTES
    }

    /** Content of a record; its timestamp is {@code offset} from the processing time it is sent at. */
    record Payload(
            String eventId,
            String deviceId,
            long offset,
            Map<String, Double> metrics,
            Map<String, String> attributes) {}

    /** One delivery: processing time advances, then a record of the given kind is received. */
    record Step(long advance, Kind kind, int variant, long k, Payload payload, byte[] arbitrary) {
        @Override
        public String toString() {
            return kind + "(+" + advance + "ms, variant " + variant + ", k " + k + ", " + payload + ")";
        }
    }

    @Provide
    Arbitrary<List<Step>> streams() {
        return steps().list().ofMinSize(1).ofMaxSize(40).withSizeDistribution(RandomDistribution.uniform());
    }

    Arbitrary<Step> steps() {
        Arbitrary<Long> noAdvance = Arbitraries.just(0L);
        Arbitrary<Long> someAdvance = Arbitraries.longs().between(0, MAX_ADVANCE_PER_STEP);
        Arbitrary<Long> advance = Arbitraries.frequencyOf(Tuple.of(3, noAdvance), Tuple.of(2, someAdvance));
        Arbitrary<Kind> kinds = Arbitraries.frequency(
                Tuple.of(8, Kind.FRESH),
                Tuple.of(3, Kind.REDELIVER_SAME_BYTES),
                Tuple.of(2, Kind.REDELIVER_REFORMATTED),
                Tuple.of(2, Kind.CONFLICT),
                Tuple.of(2, Kind.MALFORMED),
                Tuple.of(2, Kind.SCHEMA),
                Tuple.of(1, Kind.OUT_OF_RANGE),
                Tuple.of(1, Kind.FUTURE),
                Tuple.of(1, Kind.PAST),
                Tuple.of(1, Kind.ARBITRARY_BYTES));
        Arbitrary<Long> k =
                Arbitraries.oneOf(Arbitraries.of(0L, 1L), Arbitraries.longs().between(0, 10_000_000_000L));
        return Combinators.combine(
                        advance,
                        kinds,
                        Arbitraries.integers().between(0, 1000),
                        k,
                        payloads(),
                        Arbitraries.bytes().array(byte[].class).ofMaxSize(24))
                .as(Step::new);
    }

    Arbitrary<Payload> payloads() {
        Arbitrary<String> text =
                Arbitraries.strings().all().ofMaxLength(8).filter(TelemetryParserPropertiesTest::isWellFormed);
        Arbitrary<String> eventIds = Arbitraries.oneOf(
                // A small pool, so that fresh records collide on eventIds by themselves too; i/I/İ/ı differ.
                Arbitraries.of("e-0", "e-1", "e-2", "e-3", "e-i", "e-I", "e-İ", "e-ı", "E-0"),
                text.filter(s -> !s.isEmpty()));
        Arbitrary<String> known = Arbitraries.of(DEVICES.keySet().stream()
                .filter(d -> !d.equals(HUGE_DEVICE))
                .sorted()
                .toList());
        Arbitrary<String> huge = Arbitraries.just(HUGE_DEVICE);
        // Unknown: near misses of known ids, and arbitrary ids of the contract's alphabet.
        Arbitrary<String> nearMisses =
                Arbitraries.of("device-99999", "DEVICE-00001", "device-i", "device-I", "device-00001_");
        Arbitrary<String> anyDevice = Arbitraries.strings()
                .withCharRange('a', 'z')
                .withCharRange('A', 'Z')
                .withCharRange('0', '9')
                .withChars('_', '.', ':', '-')
                .ofMinLength(1)
                .ofMaxLength(20);
        Arbitrary<String> deviceIds = Arbitraries.frequencyOf(
                Tuple.of(6, known), Tuple.of(1, huge), Tuple.of(3, nearMisses), Tuple.of(2, anyDevice));
        Arbitrary<Long> offsets = Arbitraries.oneOf(
                Arbitraries.of(0L, SKEW, -PAST_AGE, -PAST_AGE + 1, SKEW - 1),
                Arbitraries.longs().between(-PAST_AGE, SKEW));
        Arbitrary<String> names = Arbitraries.strings()
                .withCharRange('a', 'z')
                .withCharRange('A', 'Z')
                .withCharRange('0', '9')
                .withChars('_')
                .ofMinLength(1)
                .ofMaxLength(12)
                // The one name the contract reserves (see TelemetryParser.RESERVED_METRIC_NAME).
                .filter(n -> !n.equals(TelemetryParser.RESERVED_METRIC_NAME));
        Arbitrary<Double> values = Arbitraries.oneOf(
                Arbitraries.doubles().between(-1e60, 1e60),
                Arbitraries.of(0.0, -0.0, 1.0, 1e60, -1e60, Double.MIN_VALUE, 21.4));
        Arbitrary<Map<String, Double>> metrics =
                Arbitraries.maps(names, values).ofMinSize(1).ofMaxSize(4);
        Arbitrary<Map<String, String>> attributes = Arbitraries.maps(text, text).ofMaxSize(3);
        return Combinators.combine(eventIds, deviceIds, offsets, metrics, attributes)
                .as(Payload::new);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Building the bytes of one step

    /** A delivery: its bytes, the processing time it is received at, and the parser reason it was built to have. */
    record Delivery(
            byte[] bytes, long now, DeadLetterReason intended, boolean intendedValid, TelemetryRecord intendedRecord) {
        static Delivery valid(byte[] bytes, long now, TelemetryRecord r) {
            return new Delivery(bytes, now, null, true, r);
        }

        static Delivery invalid(byte[] bytes, long now, DeadLetterReason reason) {
            return new Delivery(bytes, now, reason, false, null);
        }

        /** A redelivery or arbitrary bytes: whatever the parser says (a redelivered record may have aged out since). */
        static Delivery any(byte[] bytes, long now) {
            return new Delivery(bytes, now, null, false, null);
        }

        Delivery at(long otherNow) {
            return any(bytes, otherNow);
        }
    }

    /** Turns steps into deliveries, resolving references to earlier records. */
    static final class Builder {
        long now = START;
        final List<TelemetryRecord> sent = new ArrayList<>();
        final List<byte[]> sentBytes = new ArrayList<>();

        Delivery next(Step s) {
            now += s.advance();
            Payload p = s.payload();
            TelemetryRecord record = record(p, now);
            switch (s.kind()) {
                case REDELIVER_SAME_BYTES:
                    if (!sent.isEmpty()) {
                        return Delivery.any(sentBytes.get(s.variant() % sent.size()), now);
                    }
                    return fresh(record);
                case REDELIVER_REFORMATTED:
                    if (!sent.isEmpty()) {
                        return Delivery.any(reformatted(sent.get(s.variant() % sent.size())), now);
                    }
                    return fresh(record);
                case CONFLICT:
                    if (!sent.isEmpty()) {
                        record.eventId = sent.get(s.variant() % sent.size()).eventId;
                    }
                    return fresh(record);
                case FRESH:
                    return fresh(record);
                case MALFORMED:
                    return Delivery.invalid(
                            malformed(record, s.variant(), s.k()), now, DeadLetterReason.MALFORMED_JSON);
                case SCHEMA:
                    return Delivery.invalid(schema(record, s.variant()), now, DeadLetterReason.SCHEMA);
                case OUT_OF_RANGE:
                    return Delivery.invalid(outOfRange(record, s.variant()), now, DeadLetterReason.OUT_OF_RANGE);
                case FUTURE:
                    record.timestamp = Math.min(TelemetryParser.MAX_TIMESTAMP_MILLIS, now + SKEW + 1 + s.k());
                    return Delivery.invalid(bytes(json(record)), now, DeadLetterReason.TIMESTAMP_FUTURE);
                case PAST:
                    record.timestamp = Math.max(0, now - PAST_AGE - 1 - s.k());
                    return Delivery.invalid(bytes(json(record)), now, DeadLetterReason.TIMESTAMP_PAST);
                case ARBITRARY_BYTES:
                default:
                    return Delivery.any(s.arbitrary(), now);
            }
        }

        private Delivery fresh(TelemetryRecord record) {
            byte[] b = bytes(json(record));
            sent.add(record);
            sentBytes.add(b);
            return Delivery.valid(b, now, record);
        }
    }

    static TelemetryRecord record(Payload p, long now) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        p.metrics().forEach((name, v) -> metrics.put(name, v + 0.0));
        return new TelemetryRecord(
                p.eventId(), p.deviceId(), now + p.offset(), metrics, new LinkedHashMap<>(p.attributes()));
    }

    static String json(TelemetryRecord r) {
        return TelemetryParserPropertiesTest.serialize(r);
    }

    /** The same content with fields in another order, indented: a redelivery by a producer that re-serializes. */
    static byte[] reformatted(TelemetryRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> attributes = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(r.attributes.keySet());
        Collections.reverse(names);
        names.forEach(n -> attributes.put(n, r.attributes.get(n)));
        m.put("attributes", attributes);
        Map<String, Object> metrics = new LinkedHashMap<>();
        List<String> metricNames = new ArrayList<>(r.metrics.keySet());
        Collections.reverse(metricNames);
        metricNames.forEach(n -> metrics.put(n, r.metrics.get(n)));
        m.put("metrics", metrics);
        m.put("timestamp", r.timestamp);
        m.put("deviceId", r.deviceId);
        m.put("ignoredByTheContract", List.of(1, "two", Map.of()));
        m.put("eventId", r.eventId);
        try {
            return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code json} with the value of top-level field {@code field} replaced by the literal {@code literal}. */
    static String withField(TelemetryRecord r, String field, String literal) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("eventId", r.eventId);
        m.put("deviceId", r.deviceId);
        m.put("timestamp", r.timestamp);
        m.put("metrics", r.metrics);
        m.put("attributes", r.attributes);
        m.put(field, "@@PLACEHOLDER@@");
        String json;
        try {
            json = Json.MAPPER.writeValueAsString(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return literal == null
                ? json.replace("\"" + field + "\":\"@@PLACEHOLDER@@\",", "")
                        .replace(",\"" + field + "\":\"@@PLACEHOLDER@@\"", "")
                : json.replace("\"@@PLACEHOLDER@@\"", literal);
    }

    static byte[] malformed(TelemetryRecord r, int variant, long k) {
        String json = json(r);
        byte[] b = bytes(json);
        switch (variant % 8) {
            case 0:
                return new byte[0];
            case 1: {
                // A byte that never occurs in UTF-8, anywhere.
                int at = (int) (k % (b.length + 1));
                byte[] out = new byte[b.length + 1];
                System.arraycopy(b, 0, out, 0, at);
                out[at] = (k & 1) == 0 ? (byte) 0xFF : (byte) 0xC0;
                System.arraycopy(b, at, out, at + 1, b.length - at);
                return out;
            }
            case 2: {
                byte[] out = new byte[b.length + 3];
                out[0] = (byte) 0xEF;
                out[1] = (byte) 0xBB;
                out[2] = (byte) 0xBF;
                System.arraycopy(b, 0, out, 3, b.length);
                return out;
            }
            case 3:
                // Every proper prefix of an object is incomplete.
                return bytes(json.substring(0, (int) (k % json.length())));
            case 4:
                return bytes(json + ((k & 1) == 0 ? " x" : "{}"));
            case 5:
                return bytes("{\"deviceId\":\"dup\"," + json.substring(1));
            case 6:
                return bytes(withField(r, "eventId", "\"\\ud800" + ((k & 1) == 0 ? "" : "x") + "\""));
            case 7:
            default:
                return bytes("{\"deep\":" + "[".repeat(70) + "]".repeat(70) + "," + json.substring(1));
        }
    }

    static byte[] schema(TelemetryRecord r, int variant) {
        switch (variant % 14) {
            case 0:
                return bytes("[" + json(r) + "]");
            case 1:
                return bytes(withField(r, "eventId", null));
            case 2:
                return bytes(withField(r, "eventId", "42"));
            case 3:
                return bytes(withField(r, "eventId", "\"\""));
            case 4:
                return bytes(
                        withField(r, "eventId", "\"" + "e".repeat(TelemetryParser.MAX_EVENT_ID_LENGTH + 1) + "\""));
            case 5:
                return bytes(withField(r, "deviceId", "\"dev ice\""));
            case 6:
                return bytes(withField(r, "timestamp", r.timestamp + ".5"));
            case 7:
                return bytes(withField(r, "timestamp", "\"" + r.timestamp + "\""));
            case 8:
                return bytes(withField(r, "metrics", "{}"));
            case 9:
                return bytes(withField(r, "metrics", "{\"t\":\"1\"}"));
            case 10:
                return bytes(withField(r, "metrics", "{\"__proto__\":1}"));
            case 11:
                return bytes(withField(r, "metrics", "{\"bad-name\":1}"));
            case 12:
                return bytes(withField(r, "attributes", "{\"fw\":1}"));
            case 13:
            default: {
                StringBuilder sb = new StringBuilder("{");
                for (int i = 0; i <= TelemetryParser.MAX_METRICS; i++) {
                    sb.append(i == 0 ? "" : ",")
                            .append("\"m")
                            .append(i)
                            .append("\":")
                            .append(i);
                }
                return bytes(withField(r, "metrics", sb.append('}').toString()));
            }
        }
    }

    static byte[] outOfRange(TelemetryRecord r, int variant) {
        switch (variant % 6) {
            case 0:
                return bytes(withField(r, "timestamp", "-1"));
            case 1:
                return bytes(withField(r, "timestamp", Long.toString(TelemetryParser.MAX_TIMESTAMP_MILLIS + 1)));
            case 2:
                return bytes(withField(r, "timestamp", "1e400"));
            case 3:
                return bytes(withField(r, "metrics", "{\"t\":1e61}"));
            case 4:
                return bytes(withField(r, "metrics", "{\"ok\":1,\"t\":-1e400}"));
            case 5:
            default:
                return bytes(withField(r, "metrics", "{\"t\":NaN}").replace("NaN", "1e999"));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The chain under test

    /** What happened to one delivery. */
    record Outcome(
            Delivery delivery,
            EnrichedRecord enriched,
            DeadLetterRecord deadLetter,
            String deadLetterStage,
            boolean duplicate) {
        String fate() {
            return enriched != null
                    ? "enriched"
                    : deadLetter != null ? deadLetterStage + ":" + deadLetter.reason : "duplicate";
        }
    }

    /** The three operators of the job, each in its harness; records are passed on one at a time, as in the job. */
    static final class Chain implements AutoCloseable {
        final OneInputStreamOperatorTestHarness<byte[], TelemetryRecord> validate;
        final DedupeFunction dedupeFn;
        final KeyedOneInputStreamOperatorTestHarness<String, TelemetryRecord, TelemetryRecord> dedupe;
        final EnrichFunction enrichFn;
        final OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> enrich;

        Chain(OperatorSubtaskState dedupeState) throws Exception {
            validate = ProcessFunctionTestHarnesses.forProcessFunction(new ValidateFunction(SETTINGS));
            dedupeFn = new DedupeFunction(SETTINGS.dedupeTtl());
            dedupe = new KeyedOneInputStreamOperatorTestHarness<>(
                    new KeyedProcessOperator<>(dedupeFn), TelemetryRecord::getEventId, Types.STRING);
            dedupe.setup();
            if (dedupeState != null) {
                dedupe.initializeState(dedupeState);
            }
            dedupe.open();
            enrichFn = new EnrichFunction(() -> REFERENCE, Duration.ofHours(1));
            enrich = ProcessFunctionTestHarnesses.forProcessFunction(enrichFn);
        }

        Outcome feed(Delivery d) throws Exception {
            validate.setProcessingTime(d.now());
            validate.processElement(new StreamRecord<>(d.bytes(), d.now()));
            List<TelemetryRecord> valid = drain(validate.getOutput());
            List<DeadLetterRecord> invalid = drain(validate.getSideOutput(EnrichmentJob.DEAD_LETTERS));
            assertThat(valid.size() + invalid.size())
                    .as("validate emits exactly one record per input")
                    .isEqualTo(1);
            if (!invalid.isEmpty()) {
                return new Outcome(d, null, invalid.get(0), "validate", false);
            }
            dedupe.setProcessingTime(d.now());
            dedupe.setStateTtlProcessingTime(d.now());
            dedupe.processElement(new StreamRecord<>(valid.get(0), d.now()));
            List<TelemetryRecord> unique = drain(dedupe.getOutput());
            assertThat(unique).as("dedupe emits at most one record per input").hasSizeLessThanOrEqualTo(1);
            if (unique.isEmpty()) {
                return new Outcome(d, null, null, null, true);
            }
            TelemetryRecord u = unique.get(0);
            enrich.setProcessingTime(d.now());
            enrich.processElement(new StreamRecord<>(u, u.timestamp));
            List<EnrichedRecord> out = drain(enrich.getOutput());
            List<DeadLetterRecord> tooLarge = drain(enrich.getSideOutput(EnrichmentJob.DEAD_LETTERS));
            assertThat(out.size() + tooLarge.size())
                    .as("enrich emits exactly one record per input")
                    .isEqualTo(1);
            return out.isEmpty()
                    ? new Outcome(d, null, tooLarge.get(0), "enrich", false)
                    : new Outcome(d, out.get(0), null, null, false);
        }

        OperatorSubtaskState snapshotDedupe(long checkpointId, long now) throws Exception {
            return dedupe.snapshot(checkpointId, now);
        }

        @Override
        public void close() throws Exception {
            try {
                validate.close();
                dedupe.close();
            } finally {
                enrich.close();
            }
        }

        @SuppressWarnings("unchecked")
        private static <T> List<T> drain(ConcurrentLinkedQueue<?> queue) {
            List<T> out = new ArrayList<>();
            if (queue == null) {
                return out;
            }
            for (Object o = queue.poll(); o != null; o = queue.poll()) {
                if (o instanceof StreamRecord) {
                    out.add(((StreamRecord<T>) o).getValue());
                }
            }
            return out;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Laws

    /**
     * Checks every outcome against the parser and a model of first-wins dedupe and enrichment. {@code duplicates} is
     * what the dedupe operator(s) counted.
     */
    static void assertLaws(List<Outcome> outcomes, long duplicates, long conflicts) {
        Map<String, TelemetryRecord> firstValid = new HashMap<>();
        Map<String, Integer> enrichedTimes = new HashMap<>();
        long expectedDuplicates = 0;
        long expectedConflicts = 0;
        long enriched = 0;
        long deadLettered = 0;
        for (Outcome o : outcomes) {
            Delivery d = o.delivery();
            ParseResult verdict = PARSER.parse(d.bytes(), d.now());
            String what = o.fate() + " for " + verdict + " of " + printable(d.bytes());
            // The generator's intent agrees with the parser (where it has one).
            if (d.intendedValid()) {
                assertThat(verdict.isValid()).as(what).isTrue();
                assertThat(verdict.record()).as(what).isEqualTo(d.intendedRecord());
            } else if (d.intended() != null) {
                assertThat(verdict.reason()).as(what).isEqualTo(d.intended());
            }

            if (!verdict.isValid()) {
                // Each invalid delivery is dead-lettered once, by validate, with the parser's reason and detail.
                assertThat(o.deadLetter()).as(what).isNotNull();
                assertThat(o.deadLetterStage()).as(what).isEqualTo("validate");
                assertDeadLetter(o.deadLetter(), verdict.reason(), d);
                assertThat(o.deadLetter().detail).as(what).isEqualTo(verdict.detail());
                deadLettered++;
                continue;
            }
            TelemetryRecord r = verdict.record();
            TelemetryRecord first = firstValid.putIfAbsent(r.eventId, r);
            if (first != null) {
                // First wins: a later valid record with the same eventId is a duplicate, whatever its content.
                assertThat(o.duplicate())
                        .as(what + ", eventId first seen as " + first)
                        .isTrue();
                expectedDuplicates++;
                if (!sameContent(first, r)) {
                    expectedConflicts++;
                }
                continue;
            }
            if (r.deviceId.equals(HUGE_DEVICE)) {
                assertThat(o.deadLetter()).as(what).isNotNull();
                assertThat(o.deadLetterStage()).as(what).isEqualTo("enrich");
                assertDeadLetter(o.deadLetter(), DeadLetterReason.RECORD_TOO_LARGE, null);
                // Dead-lettered as validated: the payload parses back to the record.
                assertThat(PARSER.parse(bytes(o.deadLetter().payload), d.now()).record())
                        .as(what)
                        .isEqualTo(r);
                assertThat(o.deadLetter().at).isEqualTo(d.now());
                deadLettered++;
                continue;
            }
            EnrichedRecord e = o.enriched();
            assertThat(e).as(what).isNotNull();
            enrichedTimes.merge(e.eventId, 1, Integer::sum);
            enriched++;
            assertThat(e.eventId).isEqualTo(r.eventId);
            assertThat(e.deviceId).isEqualTo(r.deviceId);
            assertThat(e.timestamp).isEqualTo(r.timestamp);
            assertThat(e.metrics).isEqualTo(r.metrics);
            assertThat(e.attributes).isEqualTo(r.attributes);
            assertThat(e.processedAt).isEqualTo(d.now());
            Map<String, String> metadata = DEVICES.get(r.deviceId);
            if (metadata == null) {
                assertThat(e.enriched).as(what).isFalse();
                assertThat(e.metadata).as(what).isEmpty();
            } else {
                assertThat(e.enriched).as(what).isTrue();
                assertThat(e.metadata).as(what).isEqualTo(metadata);
            }
        }
        // Conservation: every delivery has exactly one fate, and the operators' counters agree with the fates.
        long duplicateFates = outcomes.stream().filter(Outcome::duplicate).count();
        assertThat(enriched + deadLettered + duplicateFates).isEqualTo(outcomes.size());
        assertThat(duplicates)
                .as("duplicate counter")
                .isEqualTo(expectedDuplicates)
                .isEqualTo(duplicateFates);
        assertThat(conflicts).as("duplicateConflict counter").isEqualTo(expectedConflicts);
        assertThat(enrichedTimes.values()).allMatch(n -> n == 1);
    }

    private static void assertDeadLetter(DeadLetterRecord dl, DeadLetterReason reason, Delivery d) {
        assertThat(dl.reason).isEqualTo(reason.name());
        assertThat(dl.stage).isEqualTo(DeadLetters.STAGE);
        assertThat(dl.truncated).isFalse();
        if (d != null) {
            assertThat(dl.at).isEqualTo(d.now());
            byte[] back =
                    "base64".equals(dl.payloadEncoding) ? Base64.getDecoder().decode(dl.payload) : bytes(dl.payload);
            assertThat(back).as("dead letter keeps the original bytes").isEqualTo(d.bytes());
            assertThat(dl.payloadEncoding).isEqualTo(Json.strictUtf8(d.bytes()) == null ? "base64" : "utf-8");
        }
    }

    private static boolean sameContent(TelemetryRecord a, TelemetryRecord b) {
        return a.deviceId.equals(b.deviceId)
                && a.timestamp == b.timestamp
                && a.metrics.equals(b.metrics)
                && a.attributes.equals(b.attributes);
    }

    private static String printable(byte[] b) {
        String s = Json.strictUtf8(b);
        return s == null
                ? "base64:" + Base64.getEncoder().encodeToString(b)
                : s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    private static List<Delivery> deliveries(List<Step> steps) {
        Builder b = new Builder();
        List<Delivery> out = new ArrayList<>();
        for (Step s : steps) {
            out.add(b.next(s));
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Properties

    @Property(seed = PropertySeed.SEED, tries = 60, edgeCases = EdgeCasesMode.NONE)
    void everyDeliveryHasExactlyOneFateAndEachEventIdIsEnrichedAtMostOnce(@ForAll("streams") List<Step> steps)
            throws Exception {
        List<Delivery> deliveries = deliveries(steps);
        List<Outcome> outcomes = new ArrayList<>();
        try (Chain chain = new Chain(null)) {
            for (Delivery d : deliveries) {
                outcomes.add(chain.feed(d));
            }
            assertLaws(outcomes, chain.dedupeFn.duplicateCount(), chain.dedupeFn.duplicateConflictCount());
            long enrichedOut =
                    outcomes.stream().filter(o -> o.enriched() != null).count();
            assertThat(chain.enrichFn.enrichedCount() + chain.enrichFn.unknownDeviceCount())
                    .isEqualTo(enrichedOut);
            assertThat(chain.enrichFn.enrichedCount())
                    .isEqualTo(outcomes.stream()
                            .filter(o -> o.enriched() != null && o.enriched().enriched)
                            .count());
            assertThat(chain.enrichFn.tooLargeCount())
                    .isEqualTo(outcomes.stream()
                            .filter(o -> "enrich".equals(o.deadLetterStage()))
                            .count());
            assertThat(chain.enrichFn.lateCount()).isZero();
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 30, edgeCases = EdgeCasesMode.NONE)
    void aRestoredDedupeOperatorRemembersEveryEventIdOfTheFirstPart(
            @ForAll("streams") List<Step> steps,
            @ForAll @IntRange(min = 0, max = 100) int splitPercent,
            @ForAll long seed)
            throws Exception {
        List<Delivery> deliveries = deliveries(steps);
        int split = deliveries.size() * splitPercent / 100;
        List<Delivery> first = deliveries.subList(0, split);
        long snapshotAt = split == 0 ? START : first.get(split - 1).now();

        // The rest, with every delivery of the first part replayed among it (the source rewinds after the restore).
        List<Delivery> rest = new ArrayList<>(deliveries.subList(split, deliveries.size()));
        Random random = new Random(seed);
        for (Delivery d : first) {
            rest.add(random.nextInt(rest.size() + 1), d);
        }
        // Processing time moves on monotonically after the restore; a replayed record is received at a new time.
        List<Delivery> after = new ArrayList<>();
        long now = snapshotAt;
        for (Delivery d : rest) {
            now = Math.max(now, d.now());
            after.add(d.now() == now ? d : d.at(now));
        }

        List<Outcome> outcomes = new ArrayList<>();
        OperatorSubtaskState snapshot;
        long duplicates;
        long conflicts;
        try (Chain before = new Chain(null)) {
            for (Delivery d : first) {
                outcomes.add(before.feed(d));
            }
            snapshot = before.snapshotDedupe(1L, snapshotAt);
            duplicates = before.dedupeFn.duplicateCount();
            conflicts = before.dedupeFn.duplicateConflictCount();
        }
        try (Chain restored = new Chain(snapshot)) {
            for (Delivery d : after) {
                outcomes.add(restored.feed(d));
            }
            duplicates += restored.dedupeFn.duplicateCount();
            conflicts += restored.dedupeFn.duplicateConflictCount();
        }
        assertLaws(outcomes, duplicates, conflicts);

        // And the restart is invisible: the same deliveries without it have the same fates.
        List<Delivery> all = new ArrayList<>(first);
        all.addAll(after);
        try (Chain uninterrupted = new Chain(null)) {
            for (int i = 0; i < all.size(); i++) {
                Outcome o = uninterrupted.feed(all.get(i));
                assertThat(o.fate())
                        .as("delivery " + i)
                        .isEqualTo(outcomes.get(i).fate());
                assertThat(o.enriched())
                        .as("delivery " + i)
                        .isEqualTo(outcomes.get(i).enriched());
            }
        }
    }
}
