package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.telemetry;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every case runs on the heap state backend (the tests' default) and on RocksDB, which Managed Flink runs. */
class DedupeFunctionTest {
    private static final Duration TTL = Duration.ofMinutes(60);
    private DedupeFunction function;
    private KeyedOneInputStreamOperatorTestHarness<String, TelemetryRecord, TelemetryRecord> harness;

    private static StateBackend backend(String name) {
        return "rocksdb".equals(name) ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
    }

    private void open(String backend, OperatorSubtaskState restoreFrom) throws Exception {
        function = new DedupeFunction(TTL);
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(function), TelemetryRecord::getEventId, Types.STRING);
        harness.setStateBackend(backend(backend));
        harness.setStateTtlProcessingTime(1_000_000L);
        harness.setup();
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
    }

    @AfterEach
    void tearDown() throws Exception {
        harness.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void secondRecordWithSameEventIdIsDroppedAndCounted(String backend) throws Exception {
        open(backend, null);
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

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void firstWinsWhenPayloadDiffersAndTheConflictIsCounted(String backend) throws Exception {
        open(backend, null);
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        harness.processElement(telemetry("e-1", "d", 100, 2.0), 100);
        harness.processElement(telemetry("e-1", "other-device", 100, 1.0), 100);

        assertThat(harness.extractOutputValues()).hasSize(1);
        assertThat(harness.extractOutputValues().get(0).metrics).containsEntry("temperature", 1.0);
        assertThat(function.duplicateCount()).isEqualTo(2);
        assertThat(function.duplicateConflictCount()).isEqualTo(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void eventIdIsForgottenExactlyOneTtlAfterFirstSighting(String backend) throws Exception {
        open(backend, null);
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

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aRestoreKeepsTheSeenEventIdsAndTheirFirstSighting(String backend) throws Exception {
        open(backend, null);
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        OperatorSubtaskState snapshot = harness.snapshot(1L, 1_000_000L);
        // Accepted after the checkpoint: rolled back by the restore.
        harness.processElement(telemetry("e-2", "d", 100, 1.0), 100);
        harness.close();

        open(backend, snapshot);
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        harness.processElement(telemetry("e-2", "d", 100, 1.0), 100);
        assertThat(harness.extractOutputValues())
                .extracting(TelemetryRecord::getEventId)
                .containsExactly("e-2");
        assertThat(function.duplicateCount()).isEqualTo(1);

        // The restored id still expires one TTL after its first sighting, not after the restore.
        harness.setStateTtlProcessingTime(1_000_000L + TTL.toMillis());
        harness.processElement(telemetry("e-1", "d", 100, 1.0), 100);
        assertThat(harness.extractOutputValues())
                .extracting(TelemetryRecord::getEventId)
                .containsExactly("e-2", "e-1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap"})
    void theHeapBackendSweepsExpiredIdsAwayWhileNewOnesArrive(String backend) throws Exception {
        open(backend, null);
        int ids = 2_000;
        for (int i = 0; i < ids; i++) {
            harness.processElement(telemetry("old-" + i, "d", 100, 1.0), 100);
        }
        assertThat(harness.numKeyedStateEntries()).isEqualTo(ids);

        // One TTL later, as many new ids: the sweep, one entry per state access, drops the expired ones on the way.
        harness.setStateTtlProcessingTime(1_000_000L + TTL.toMillis());
        for (int i = 0; i < ids; i++) {
            harness.processElement(telemetry("new-" + i, "d", 100, 1.0), 100);
        }
        assertThat(harness.numKeyedStateEntries()).isLessThan(ids + ids / 2);
        assertThat(harness.extractOutputValues()).hasSize(2 * ids);
    }
}
