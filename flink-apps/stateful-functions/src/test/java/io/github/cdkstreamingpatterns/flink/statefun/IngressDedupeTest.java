package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The ingress dedupe on Flink's keyed operator harness: first eventId per address wins, TTL, snapshot/restore. */
class IngressDedupeTest {
    private static final Duration TTL = Duration.ofMinutes(60);
    private static final long START = 1_000_000L;

    private static RoutedMessage message(String address, String eventId, int v) {
        String json = "{\"id\":\"" + eventId + "\",\"type\":\"Append\",\"from\":null,\"payload\":{\"v\":" + v + "}}";
        return new RoutedMessage(Address.fromKey(address), eventId, json);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, RoutedMessage, RoutedMessage> harness(
            IngressDedupe dedupe, OperatorSubtaskState restoreFrom) throws Exception {
        var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(dedupe), new StatefulFunctionsTopology.AddressKey(), Types.STRING);
        harness.setStateTtlProcessingTime(START);
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
        return harness;
    }

    private static List<String> delivered(
            KeyedOneInputStreamOperatorTestHarness<String, RoutedMessage, RoutedMessage> harness) {
        return harness.extractOutputValues().stream()
                .map(m -> m.addressKey() + " " + m.messageJson)
                .toList();
    }

    @Test
    void aRepeatedEventIdForTheSameAddressIsDroppedAndCounted() throws Exception {
        IngressDedupe dedupe = new IngressDedupe(TTL);
        try (var harness = harness(dedupe, null)) {
            harness.processElement(message("order/o-1", "p1", 1), 0);
            harness.processElement(message("order/o-1", "p1", 1), 0);
            harness.processElement(message("order/o-1", "p2", 2), 0);
            // the same eventId for another address is another message
            harness.processElement(message("inventory/sku-1", "p1", 1), 0);

            assertThat(harness.extractOutputValues())
                    .extracting(m -> m.addressKey() + " " + m.messageId)
                    .containsExactly("order/o-1 p1", "order/o-1 p2", "inventory/sku-1 p1");
            assertThat(dedupe.duplicateCount()).isEqualTo(1);
            assertThat(dedupe.conflictCount()).isZero();
        }
    }

    @Test
    void theFirstEnvelopeOfAnEventIdWinsAndADifferingDuplicateIsCountedAsAConflict() throws Exception {
        IngressDedupe dedupe = new IngressDedupe(TTL);
        try (var harness = harness(dedupe, null)) {
            harness.processElement(message("inventory/sku-1", "r1", 5), 0);
            harness.processElement(message("inventory/sku-1", "r1", 7), 0);
            harness.processElement(message("inventory/sku-1", "r1", 5), 0);

            assertThat(delivered(harness)).containsExactly("inventory/sku-1 " + message("x/y", "r1", 5).messageJson);
            assertThat(dedupe.duplicateCount()).isEqualTo(2);
            assertThat(dedupe.conflictCount()).isEqualTo(1);
        }
    }

    @Test
    void anEventIdIsForgottenOneTtlAfterItsFirstSighting() throws Exception {
        IngressDedupe dedupe = new IngressDedupe(TTL);
        try (var harness = harness(dedupe, null)) {
            harness.processElement(message("order/o-1", "p1", 1), 0);

            // a duplicate inside the TTL is dropped and does not extend it
            harness.setStateTtlProcessingTime(START + TTL.toMillis() - 1);
            harness.processElement(message("order/o-1", "p1", 1), 0);
            assertThat(harness.extractOutputValues()).hasSize(1);

            // once the TTL has passed, an old id is delivered again and remembered anew
            harness.setStateTtlProcessingTime(START + TTL.toMillis());
            harness.processElement(message("order/o-1", "p1", 1), 0);
            assertThat(harness.extractOutputValues()).hasSize(2);
            harness.setStateTtlProcessingTime(START + TTL.toMillis() + 1);
            harness.processElement(message("order/o-1", "p1", 1), 0);
            assertThat(harness.extractOutputValues()).hasSize(2);
            assertThat(dedupe.duplicateCount()).isEqualTo(2);
        }
    }

    @Test
    void aRestoreFromASnapshotKeepsTheSeenEventIds() throws Exception {
        OperatorSubtaskState snapshot;
        try (var harness = harness(new IngressDedupe(TTL), null)) {
            harness.processElement(message("order/o-1", "p1", 1), 0);
            harness.processElement(message("inventory/sku-1", "r1", 5), 0);
            snapshot = harness.snapshot(1L, 1L);
            // accepted after the snapshot: a restore rolls it back, so its replay must be delivered again
            harness.processElement(message("order/o-1", "p2", 2), 0);
        }

        IngressDedupe restored = new IngressDedupe(TTL);
        try (var harness = harness(restored, snapshot)) {
            harness.processElement(message("order/o-1", "p1", 1), 0);
            harness.processElement(message("inventory/sku-1", "r1", 5), 0);
            harness.processElement(message("order/o-1", "p2", 2), 0);

            assertThat(harness.extractOutputValues())
                    .extracting(m -> m.addressKey() + " " + m.messageId)
                    .containsExactly("order/o-1 p2");
            assertThat(restored.duplicateCount()).isEqualTo(2);
        }
    }

    @Test
    void theTtlMustBePositive() {
        assertThatThrownBy(() -> new IngressDedupe(Duration.ZERO)).hasMessageContaining("must be positive");
    }

    // ---- property -------------------------------------------------------------------------------------------

    /** One envelope: address index, eventId index (ids repeat across and within addresses), payload variant. */
    record Input(int address, int eventId, int variant) {
        RoutedMessage message() {
            return IngressDedupeTest.message("fn/a" + address, "e" + eventId, variant);
        }
    }

    @Provide
    Arbitrary<List<Input>> envelopes() {
        Arbitrary<Input> input = Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(0, 6),
                        Arbitraries.integers().between(0, 1))
                .as(Input::new);
        return input.list().ofMaxSize(40);
    }

    /**
     * For arbitrary sequences of envelopes with repeated eventIds, each eventId reaches each address exactly once, in
     * first-arrival order, carrying the first envelope's content; every other envelope is counted as a duplicate,
     * and as a conflict when its content differs from the first. Also across a snapshot at an arbitrary cut and a
     * restore that replays everything after the cut (what a source does after a failure).
     */
    @Property(seed = PropertySeed.SEED, tries = 200)
    void eachEventIdIsDeliveredOncePerAddressInFirstArrivalOrder(
            @ForAll("envelopes") List<Input> inputs, @ForAll @IntRange(min = 0, max = 40) int cutAt) throws Exception {
        int cut = Math.min(cutAt, inputs.size());

        // the model: first arrival per (address, eventId) wins
        Map<String, List<String>> expected = new LinkedHashMap<>();
        Map<String, String> firstContent = new HashMap<>();
        long duplicates = 0;
        long conflicts = 0;
        for (Input in : inputs) {
            RoutedMessage m = in.message();
            String key = m.addressKey() + " " + m.messageId;
            String first = firstContent.putIfAbsent(key, m.messageJson);
            if (first == null) {
                expected.computeIfAbsent(m.addressKey(), k -> new ArrayList<>()).add(m.messageJson);
            } else {
                duplicates++;
                if (!first.equals(m.messageJson)) {
                    conflicts++;
                }
            }
        }

        // the operator: the part before the cut, a snapshot, a failure, then a restore and a replay of the rest
        List<RoutedMessage> out = new ArrayList<>();
        OperatorSubtaskState snapshot;
        try (var harness = harness(new IngressDedupe(TTL), null)) {
            for (Input in : inputs.subList(0, cut)) {
                harness.processElement(in.message(), 0);
            }
            snapshot = harness.snapshot(1L, 1L);
            out.addAll(harness.extractOutputValues());
            // work after the snapshot that the failure loses
            for (Input in : inputs.subList(cut, inputs.size())) {
                harness.processElement(in.message(), 0);
            }
        }
        IngressDedupe restored = new IngressDedupe(TTL);
        long duplicatesBeforeCut = duplicatesIn(inputs.subList(0, cut));
        try (var harness = harness(restored, snapshot)) {
            for (Input in : inputs.subList(cut, inputs.size())) {
                harness.processElement(in.message(), 0);
            }
            out.addAll(harness.extractOutputValues());
        }

        Map<String, List<String>> actual = new LinkedHashMap<>();
        for (RoutedMessage m : out) {
            actual.computeIfAbsent(m.addressKey(), k -> new ArrayList<>()).add(m.messageJson);
        }
        assertThat(actual).isEqualTo(expected);
        assertThat(duplicatesBeforeCut + restored.duplicateCount()).isEqualTo(duplicates);
        assertThat(out.size() + duplicates).isEqualTo(inputs.size());
        // conflicts: checked on a run without the cut, where one operator sees everything
        IngressDedupe whole = new IngressDedupe(TTL);
        try (var harness = harness(whole, null)) {
            for (Input in : inputs) {
                harness.processElement(in.message(), 0);
            }
        }
        assertThat(whole.duplicateCount()).isEqualTo(duplicates);
        assertThat(whole.conflictCount()).isEqualTo(conflicts);
    }

    private static long duplicatesIn(List<Input> inputs) {
        return inputs.size()
                - inputs.stream()
                        .map(in -> in.address() + "/" + in.eventId())
                        .distinct()
                        .count();
    }
}
