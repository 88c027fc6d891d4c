package io.github.cdkstreamingpatterns.flink.enrichment;

import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Drops repeated eventIds seen within the TTL ({@code dedupe.ttl.minutes}); must run on a stream keyed by eventId,
 * so every copy of an event reaches the same subtask whatever shard or subtask it came from.
 *
 * <p><b>What a duplicate is.</b> The first record with a given eventId wins; any later record with the same eventId
 * within the TTL is a duplicate, even when its payload differs. The eventId is the producer's idempotency key, and
 * passing a second version on would make downstream aggregates count the event twice. A differing payload is
 * counted separately ({@code duplicateConflict}) because it points at a producer reusing ids, which an operator
 * should look at.
 *
 * <p><b>Why duplicates are not dead-lettered.</b> They are not bad data: Kinesis producers retry PutRecords and
 * sources are replayed after restarts, so redelivery is normal and expected. Dead-lettering them would flood the
 * dead-letter stream during every replay and invite someone to re-drive events that were already processed. They
 * are counted ({@code duplicate}) and not emitted.
 *
 * <p>The TTL is measured in processing time from the first sighting (state written once, never refreshed), so an
 * eventId is remembered for exactly the TTL. Dedupe state is checkpointed with the job; records replayed from
 * before the last checkpoint after a restore are emitted again, which downstream consumers must tolerate (the
 * Kinesis sink is at-least-once anyway).
 */
public class DedupeFunction extends KeyedProcessFunction<String, TelemetryRecord, TelemetryRecord> {
    private static final long serialVersionUID = 1L;

    /**
     * Expired entries the heap state backend looks at on each state access (Flink's default is 5). Every record
     * accesses the state once or twice, so the sweep still passes over the whole table faster than it fills with
     * expired entries (they stay at about a third of the live ones at a steady rate, against a twentieth with 5), while
     * the benchmark measured the default sweep at ~19 % of the job's Java CPU on 200k live ids. Expired entries are
     * never returned whatever this is ({@code neverReturnExpired}), so dedupe semantics do not depend on it.
     */
    static final int HEAP_CLEANUP_ENTRIES_PER_ACCESS = 1;

    /** RocksDB (Managed Flink's backend) drops expired entries while compacting; Flink's default setting, made explicit. */
    static final long ROCKSDB_CLEANUP_QUERY_TIME_AFTER_ENTRIES = 1000;

    private final Duration ttl;

    private transient ValueState<Long> seenContentHash;
    private transient Counter duplicate;
    private transient Counter duplicateConflict;

    public DedupeFunction(Duration ttl) {
        this.ttl = ttl;
    }

    @Override
    public void open(OpenContext openContext) {
        ValueStateDescriptor<Long> descriptor = new ValueStateDescriptor<>("seen-content-hash", Types.LONG);
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(ttl)
                .updateTtlOnCreateAndWrite()
                .neverReturnExpired()
                .cleanupIncrementally(HEAP_CLEANUP_ENTRIES_PER_ACCESS, false)
                .cleanupInRocksdbCompactFilter(ROCKSDB_CLEANUP_QUERY_TIME_AFTER_ENTRIES)
                .build());
        seenContentHash = getRuntimeContext().getState(descriptor);
        MetricGroup group = EnrichmentJob.metricGroup(getRuntimeContext().getMetricGroup());
        duplicate = group.counter("duplicate");
        duplicateConflict = group.counter("duplicateConflict");
    }

    @Override
    public void processElement(TelemetryRecord record, Context ctx, Collector<TelemetryRecord> out) throws Exception {
        Long seen = seenContentHash.value();
        if (seen == null) {
            seenContentHash.update(record.contentHash());
            out.collect(record);
            return;
        }
        duplicate.inc();
        if (seen != record.contentHash()) {
            duplicateConflict.inc();
        }
    }

    long duplicateCount() {
        return duplicate.getCount();
    }

    long duplicateConflictCount() {
        return duplicateConflict.getCount();
    }
}
