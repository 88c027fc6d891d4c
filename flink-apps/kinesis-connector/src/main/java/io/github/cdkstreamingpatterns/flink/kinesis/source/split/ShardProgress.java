package io.github.cdkstreamingpatterns.flink.kinesis.source.split;

import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.aggregation.KplDeaggregator;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.annotation.Internal;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.StartingPosition;

/**
 * Fetch-side progress of one shard, shared by the polling and the enhanced fan-out reader: where a new shard
 * iterator or subscription starts, and how fetched Kinesis records become the records the source emits (KPL
 * aggregates split into their user records; after a restore inside an aggregate, the user records emitted before
 * the checkpoint skipped). Used by the fetcher thread only.
 */
@Internal
public final class ShardProgress {
    private final KinesisShardSplit split;
    // Last Kinesis record fetched (or EFO continuation sequence number); null until the first one.
    private String fetchedThrough;
    // Restored inside an aggregate or after a user record: the reader restarts AT this sequence number and drops what
    // the checkpoint already covers. Cleared by the first record at or past it.
    private String skipSequenceNumber;
    private long skipThroughSubSequenceNumber;

    public ShardProgress(KinesisShardSplit split) {
        this.split = split;
        if (split.lastSequenceNumber() != null
                && split.lastSubSequenceNumber() != KinesisShardSplit.NO_SUB_SEQUENCE_NUMBER) {
            skipSequenceNumber = split.lastSequenceNumber();
            skipThroughSubSequenceNumber = split.lastSubSequenceNumber();
        }
    }

    KinesisShardSplit split() {
        return split;
    }

    public String shardId() {
        return split.shardId();
    }

    /** Where the next GetShardIterator or SubscribeToShard call starts. */
    public StartingPosition startingPosition() {
        if (fetchedThrough != null) {
            return after(fetchedThrough);
        }
        if (skipSequenceNumber != null) {
            return StartingPosition.builder()
                    .type(ShardIteratorType.AT_SEQUENCE_NUMBER)
                    .sequenceNumber(skipSequenceNumber)
                    .build();
        }
        if (split.lastSequenceNumber() != null) {
            return after(split.lastSequenceNumber());
        }
        switch (split.startPosition()) {
            case TRIM_HORIZON:
                return StartingPosition.builder()
                        .type(ShardIteratorType.TRIM_HORIZON)
                        .build();
            case LATEST:
                return StartingPosition.builder().type(ShardIteratorType.LATEST).build();
            case AT_TIMESTAMP:
                return StartingPosition.builder()
                        .type(ShardIteratorType.AT_TIMESTAMP)
                        .timestamp(Instant.ofEpochMilli(split.startTimestampMillis()))
                        .build();
            default:
                throw new IllegalStateException("Unknown start position " + split.startPosition());
        }
    }

    private static StartingPosition after(String sequenceNumber) {
        return StartingPosition.builder()
                .type(ShardIteratorType.AFTER_SEQUENCE_NUMBER)
                .sequenceNumber(sequenceNumber)
                .build();
    }

    /** Moves the resume point on without a record (an EFO event's continuation sequence number). */
    public void fetchedThrough(String sequenceNumber) {
        fetchedThrough = sequenceNumber;
    }

    /**
     * The records to emit for one batch of fetched Kinesis records, in order, and the batch's last record as the new
     * resume point. See {@link KplDeaggregator#deaggregate} for what counts as an aggregate.
     */
    public List<KinesisRecord> toRecords(List<Record> fetched) {
        List<KinesisRecord> out = new ArrayList<>(fetched.size());
        for (Record r : fetched) {
            long skipThrough = -1; // sub-sequence numbers up to this one were emitted before the checkpoint
            if (skipSequenceNumber != null) {
                int c = compare(r.sequenceNumber(), skipSequenceNumber);
                if (c < 0) {
                    continue;
                }
                if (c == 0) {
                    skipThrough = skipThroughSubSequenceNumber;
                }
                skipSequenceNumber = null;
            }
            Instant arrival = r.approximateArrivalTimestamp();
            long arrivalMillis = arrival == null ? 0L : arrival.toEpochMilli();
            byte[] data = r.data().asByteArray();
            List<KplDeaggregator.UserRecord> users = KplDeaggregator.deaggregate(data);
            if (users == null) {
                if (skipThrough < 0) {
                    out.add(new KinesisRecord(
                            data, r.partitionKey(), null, r.sequenceNumber(), 0L, arrivalMillis, shardId()));
                }
                continue;
            }
            for (int i = (int) Math.min(skipThrough + 1, users.size()); i < users.size(); i++) {
                KplDeaggregator.UserRecord u = users.get(i);
                out.add(new KinesisRecord(
                        u.data(),
                        u.partitionKey(),
                        u.explicitHashKey(),
                        r.sequenceNumber(),
                        i,
                        arrivalMillis,
                        shardId()));
            }
        }
        if (!fetched.isEmpty()) {
            fetchedThrough = fetched.get(fetched.size() - 1).sequenceNumber();
        }
        return out;
    }

    /** Kinesis sequence numbers are decimal strings of up to 128 bits; compared as numbers when they are. */
    static int compare(String a, String b) {
        if (a.equals(b)) {
            return 0;
        }
        try {
            return new BigInteger(a).compareTo(new BigInteger(b));
        } catch (NumberFormatException e) {
            return 1; // not a Kinesis sequence number (a test double's): treat as later, never drop it
        }
    }
}
