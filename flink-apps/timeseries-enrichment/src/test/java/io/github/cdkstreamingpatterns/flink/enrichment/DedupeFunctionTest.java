package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.telemetry;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DedupeFunctionTest {
    private static final Duration TTL = Duration.ofMinutes(60);
    private DedupeFunction function;
    private KeyedOneInputStreamOperatorTestHarness<String, TelemetryRecord, TelemetryRecord> harness;

    @BeforeEach
    void setUp() throws Exception {
        function = new DedupeFunction(TTL);
        harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
                function, TelemetryRecord::getEventId, Types.STRING);
        harness.setStateTtlProcessingTime(1_000_000L);
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    @Test
    void secondRecordWithSameEventIdIsDroppedAndCounted() throws Exception {
        TelemetryRecord first = telemetry("e-1", "d", 100, 1.0);
        harness.processElement(first, 100);
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        harness.processElement(telemetry("e-2", "d", 100, 1.0), 100);

        assertThat(harness.extractOutputValues())
                .extracting(TelemetryRecord::getEventId)
                .containsExactly("e-1", "e-2");
        assertThat(harness.extractOutputValues().get(0)).isEqualTo(first);
        assertThat(function.duplicateCount()).isEqualTo(1);
        assertThat(function.duplicateConflictCount()).isZero();
    }

    @Test
    void firstWinsWhenPayloadDiffersAndTheConflictIsCounted() throws Exception {
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        harness.processElement(telemetry("e-1", "d", 100, 2.0), 100);
        harness.processElement(telemetry("e-1", "other-device", 100, 1.0), 100);

        assertThat(harness.extractOutputValues()).hasSize(1);
        assertThat(harness.extractOutputValues().get(0).metrics).containsEntry("temperature", 1.0);
        assertThat(function.duplicateCount()).isEqualTo(2);
        assertThat(function.duplicateConflictCount()).isEqualTo(2);
    }

    @Test
    void eventIdIsForgottenExactlyOneTtlAfterFirstSighting() throws Exception {
        long firstSeen = 1_000_000L;
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);

        // A duplicate inside the TTL does not extend it (state is only written on first sighting).
        harness.setStateTtlProcessingTime(firstSeen + TTL.toMillis() - 1);
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        assertThat(harness.extractOutputValues()).hasSize(1);
        assertThat(function.duplicateCount()).isEqualTo(1);

        harness.setStateTtlProcessingTime(firstSeen + TTL.toMillis());
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        assertThat(harness.extractOutputValues()).hasSize(2);
        assertThat(function.duplicateCount()).isEqualTo(1);

        // And the re-emitted one starts a new TTL window.
        harness.setStateTtlProcessingTime(firstSeen + TTL.toMillis() + 1);
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        assertThat(harness.extractOutputValues()).hasSize(2);
        assertThat(function.duplicateCount()).isEqualTo(2);
    }
}
