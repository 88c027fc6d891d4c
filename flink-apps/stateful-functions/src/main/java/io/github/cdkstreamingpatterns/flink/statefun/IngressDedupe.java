package io.github.cdkstreamingpatterns.flink.statefun;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Drops an ingress message whose {@code eventId} this runtime already accepted for the same target address, before it
 * reaches the function dispatcher. Runs on the router's output keyed by target address ({@code "type/id"}), the key
 * of the dispatcher, so each address's envelopes keep their order and reach one dedupe subtask and, through it, the
 * dispatcher subtask that owns the address.
 *
 * <p><b>What a duplicate is.</b> The eventId is the producer's idempotency key (the ingestion API's
 * {@code Idempotency-Key}); Kinesis and API Gateway are at-least-once, so the same envelope can arrive more than once.
 * The first message of an eventId for an address wins; a later one with the same eventId for that address, within the
 * TTL, is a duplicate whatever it carries. Duplicates are counted ({@code ingressDuplicates}) and dropped, not
 * dead-lettered: they are normal input. A duplicate whose message (type or payload) differs from the first is also
 * counted as a conflict ({@code ingressDuplicateConflicts}): it points at a producer reusing ids. The same eventId for
 * another address is a different message and is delivered.
 *
 * <p><b>State.</b> Per address, a map from eventId to a 64-bit fingerprint of the first message (SHA-256 of the
 * invocation-protocol message JSON, cut to 8 bytes), each entry with a processing-time TTL of
 * {@code ingress.dedupe.ttl.minutes} measured from its first sighting (written once, never refreshed; expired entries
 * are never read). The state is Flink keyed state, so it is checkpointed with the job: after a restore, an envelope
 * accepted before the checkpoint is still dropped, and one replayed from after it is delivered (the dispatcher's state
 * was rolled back with it), so no envelope is applied twice and none is lost.
 */
final class IngressDedupe extends KeyedProcessFunction<String, RoutedMessage, RoutedMessage> {
    private static final long serialVersionUID = 1L;

    static final String SEEN = "ingress-seen-event-ids";

    private final Duration ttl;

    private transient MapState<String, Long> seen;
    private transient Counter duplicates;
    private transient Counter conflicts;

    IngressDedupe(Duration ttl) {
        if (ttl == null || ttl.toMillis() < 1) {
            throw new IllegalArgumentException("the ingress dedupe TTL must be positive, got " + ttl);
        }
        this.ttl = ttl;
    }

    @Override
    public void open(OpenContext openContext) {
        MapStateDescriptor<String, Long> descriptor = new MapStateDescriptor<>(SEEN, Types.STRING, Types.LONG);
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(ttl)
                .updateTtlOnCreateAndWrite()
                .neverReturnExpired()
                .build());
        seen = getRuntimeContext().getMapState(descriptor);
        MetricGroup group = StatefunMetrics.group(getRuntimeContext().getMetricGroup());
        duplicates = group.counter(StatefunMetrics.INGRESS_DUPLICATES);
        conflicts = group.counter(StatefunMetrics.INGRESS_DUPLICATE_CONFLICTS);
    }

    @Override
    public void processElement(RoutedMessage message, Context ctx, Collector<RoutedMessage> out) throws Exception {
        long fingerprint = fingerprint(message.messageJson);
        Long first = seen.get(message.messageId);
        if (first == null) {
            seen.put(message.messageId, fingerprint);
            out.collect(message);
            return;
        }
        duplicates.inc();
        if (first != fingerprint) {
            conflicts.inc();
        }
    }

    static long fingerprint(String messageJson) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(messageJson.getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(digest, 0, Long.BYTES).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    long duplicateCount() {
        return duplicates.getCount();
    }

    long conflictCount() {
        return conflicts.getCount();
    }
}
