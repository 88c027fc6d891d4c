package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.telemetry;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

class EnrichFunctionTest {
    private static final ReferenceData REFERENCE = new ReferenceData(
            Map.of("device-00042", Map.of("site", "plant-1", "deviceType", "thermostat", "region", "eu-west-1")), 0);

    /** Fixed data; counts closes. */
    static final class FixedLoader implements ReferenceDataLoader {
        final AtomicBoolean closed = new AtomicBoolean();
        private final ReferenceData data;

        FixedLoader(ReferenceData data) {
            this.data = data;
        }

        @Override
        public ReferenceData load() {
            return data;
        }

        @Override
        public void close() {
            closed.set(true);
        }
    }

    @Test
    void addsMetadataForKnownDevicesAndMarksUnknownOnes() throws Exception {
        EnrichFunction fn = new EnrichFunction(new FixedLoader(REFERENCE), Duration.ofHours(1));
        try (OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> h =
                ProcessFunctionTestHarnesses.forProcessFunction(fn)) {
            h.setProcessingTime(777L);
            h.processElement(telemetry("e-1", "device-00042", 100, 21.4), 100);
            h.processElement(telemetry("e-2", "device-99999", 100, 19.0), 100);

            List<EnrichedRecord> out = h.extractOutputValues();
            assertThat(out).hasSize(2);
            EnrichedRecord known = out.get(0);
            assertThat(known.eventId).isEqualTo("e-1");
            assertThat(known.enriched).isTrue();
            assertThat(known.metadata)
                    .containsOnly(
                            Map.entry("site", "plant-1"),
                            Map.entry("deviceType", "thermostat"),
                            Map.entry("region", "eu-west-1"));
            assertThat(known.metrics).containsEntry("temperature", 21.4);
            assertThat(known.processedAt).isEqualTo(777L);
            EnrichedRecord unknown = out.get(1);
            assertThat(unknown.enriched).isFalse();
            assertThat(unknown.metadata).isEmpty();
            assertThat(fn.enrichedCount()).isEqualTo(1);
            assertThat(fn.unknownDeviceCount()).isEqualTo(1);
            assertThat(fn.lateCount()).isZero();
        }
    }

    @Test
    void aRecordTooLargeOnceEnrichedIsDeadLetteredAsValidatedWhenItsRawBytesWereNotKept() throws Exception {
        // Only absurd reference data makes a small record too large: one device with a 1 MiB metadata field.
        ReferenceData huge = new ReferenceData(
                Map.of("device-00042", Map.of("notes", "n".repeat((int) EnrichmentJob.MAX_RECORD_BYTES))), 0);
        EnrichFunction fn = new EnrichFunction(new FixedLoader(huge), Duration.ofHours(1));
        try (OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> h =
                ProcessFunctionTestHarnesses.forProcessFunction(fn)) {
            h.setProcessingTime(777L);
            TelemetryRecord record = telemetry("e-1", "device-00042", 100, 21.4);
            h.processElement(record, 100);
            h.processElement(telemetry("e-2", "device-99999", 100, 19.0), 100);

            assertThat(h.extractOutputValues()).extracting(r -> r.eventId).containsExactly("e-2");
            List<DeadLetterRecord> dead = h.getSideOutput(EnrichmentJob.DEAD_LETTERS).stream()
                    .map(r -> r.getValue())
                    .collect(Collectors.toList());
            assertThat(dead).hasSize(1);
            DeadLetterRecord d = dead.get(0);
            assertThat(d.reason).isEqualTo("RECORD_TOO_LARGE");
            assertThat(d.detail).contains("as validated");
            assertThat(d.truncated).isFalse();
            assertThat(d.at).isEqualTo(777L);
            TelemetryRecord back = new TelemetryParser(ProcessingSettings.defaults())
                    .parse(d.payload.getBytes(StandardCharsets.UTF_8), 777L)
                    .record();
            assertThat(back).isEqualTo(record);
            assertThat(fn.tooLargeCount()).isEqualTo(1);
            assertThat(fn.enrichedCount()).isZero();
            assertThat(fn.unknownDeviceCount()).isEqualTo(1);
        }
    }

    @Test
    void recordsAtOrBehindTheWatermarkAreCountedLateAndStillEmitted() throws Exception {
        EnrichFunction fn = new EnrichFunction(new FixedLoader(REFERENCE), Duration.ofHours(1));
        try (OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> h =
                ProcessFunctionTestHarnesses.forProcessFunction(fn)) {
            h.processElement(telemetry("before-any-watermark", "device-00042", 1, 1), 1);
            h.processWatermark(10_000L);
            h.processElement(telemetry("behind", "device-00042", 5_000, 1), 5_000);
            h.processElement(telemetry("at", "device-00042", 10_000, 1), 10_000);
            h.processElement(telemetry("ahead", "device-00042", 10_001, 1), 10_001);

            assertThat(h.extractOutputValues())
                    .extracting(EnrichedRecord::getEventId)
                    .containsExactly("before-any-watermark", "behind", "at", "ahead");
            assertThat(fn.lateCount()).isEqualTo(2);
            assertThat(fn.enrichedCount()).isEqualTo(4);
        }
    }

    @Test
    void firstLoadFailureDoesNotFailTheOperatorAndAFailedRefreshKeepsTheLastGoodCopy() throws Exception {
        // Call 1 (open) fails, call 2 succeeds, call 3 fails, call 4 blocks until the operator closes.
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch fourthCallStarted = new CountDownLatch(1);
        ReferenceDataLoader loader = () -> {
            int n = calls.incrementAndGet();
            switch (n) {
                case 1:
                    throw new IOException("AccessDenied");
                case 2:
                    return REFERENCE;
                case 3:
                    throw new IOException("NoSuchKey");
                default:
                    fourthCallStarted.countDown();
                    try {
                        new CountDownLatch(1).await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new IOException("interrupted by close");
            }
        };
        EnrichFunction fn = new EnrichFunction(loader, Duration.ofMillis(5));
        OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> h =
                ProcessFunctionTestHarnesses.forProcessFunction(fn);
        try {
            // open() ran the failed first load; whether the refresher has run since is up to the scheduler, so only
            // the state after the refresher has provably passed calls 2 and 3 is asserted.
            assertThat(calls.get()).isGreaterThanOrEqualTo(1);
            assertThat(fourthCallStarted.await(30, TimeUnit.SECONDS)).isTrue();
            // Refreshes run one after the other on one thread: call 3's failure is fully handled before call 4 starts.
            assertThat(fn.referenceLoadFailureCount()).isEqualTo(2);
            h.processElement(telemetry("e-1", "device-00042", 100, 1), 100);
            assertThat(h.extractOutputValues().get(0).enriched).isTrue();
            assertThat(h.extractOutputValues().get(0).metadata).containsEntry("site", "plant-1");
        } finally {
            h.close();
        }
    }

    @Test
    void recordsPassAsUnknownWhileNoReferenceDataCouldBeLoaded() throws Exception {
        ReferenceDataLoader failing = () -> {
            throw new IOException("NoSuchBucket");
        };
        EnrichFunction fn = new EnrichFunction(failing, Duration.ofHours(1));
        try (OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> h =
                ProcessFunctionTestHarnesses.forProcessFunction(fn)) {
            h.processElement(telemetry("e-1", "device-00042", 100, 1), 100);
            assertThat(h.extractOutputValues())
                    .singleElement()
                    .satisfies(r -> assertThat(r.enriched).isFalse());
            assertThat(fn.referenceLoadFailureCount()).isEqualTo(1);
            assertThat(fn.unknownDeviceCount()).isEqualTo(1);
        }
    }

    @Test
    void closeStopsTheRefresherAndClosesTheLoader() throws Exception {
        FixedLoader loader = new FixedLoader(REFERENCE);
        EnrichFunction fn = new EnrichFunction(loader, Duration.ofHours(1));
        OneInputStreamOperatorTestHarness<TelemetryRecord, EnrichedRecord> h =
                ProcessFunctionTestHarnesses.forProcessFunction(fn);
        h.close();
        assertThat(loader.closed).isTrue();
    }
}
