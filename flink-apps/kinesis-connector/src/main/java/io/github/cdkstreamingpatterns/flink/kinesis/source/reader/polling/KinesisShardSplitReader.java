package io.github.cdkstreamingpatterns.flink.kinesis.source.reader.polling;

import io.github.cdkstreamingpatterns.flink.common.Backoff;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisErrors;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.ShardSplitReaderBase;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.annotation.Internal;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ExpiredIteratorException;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.KmsThrottlingException;
import software.amazon.awssdk.services.kinesis.model.LimitExceededException;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.StartingPosition;

/**
 * Polls the shards assigned to one reader with GetShardIterator/GetRecords. Each {@link #fetch()} polls the shard
 * whose next poll is due first, so shards are served fairly and each is polled at most every
 * {@code pollIntervalMillis} (Kinesis allows 5 GetRecords calls per second per shard).
 */
@Internal
public final class KinesisShardSplitReader
        extends ShardSplitReaderBase<KinesisClient, KinesisShardSplitReader.ShardCursor> {
    private static final Logger LOG = LoggerFactory.getLogger(KinesisShardSplitReader.class);
    static final long MAX_BACKOFF_MILLIS = 10_000L;

    private final String streamArn;
    private final long pollIntervalMillis;
    private final int maxRecordsPerPoll;

    private final Set<String> paused = new HashSet<>();
    private final Object sleepLock = new Object();
    private boolean wokenUp;

    public KinesisShardSplitReader(
            KinesisClient client, String streamArn, long pollIntervalMillis, int maxRecordsPerPoll) {
        super(client);
        this.streamArn = streamArn;
        this.pollIntervalMillis = pollIntervalMillis;
        this.maxRecordsPerPoll = maxRecordsPerPoll;
    }

    /** Polling state of one shard. */
    static final class ShardCursor extends ShardSplitReaderBase.ShardState {
        String iterator;
        long nextPollAt;

        ShardCursor(KinesisShardSplit split) {
            super(split);
        }
    }

    @Override
    protected ShardCursor newShardState(KinesisShardSplit split) {
        return new ShardCursor(split);
    }

    @Override
    protected void fetchInto(RecordsBySplits.Builder<KinesisRecord> out) {
        ShardCursor next = null;
        for (ShardCursor c : shards.values()) {
            if (!paused.contains(c.shardId()) && (next == null || c.nextPollAt < next.nextPollAt)) {
                next = c;
            }
        }
        long wait = next == null ? pollIntervalMillis : next.nextPollAt - System.currentTimeMillis();
        if (wait > 0 && sleep(wait)) {
            return;
        }
        if (next == null) {
            return;
        }
        poll(next, out);
    }

    private void poll(ShardCursor cursor, RecordsBySplits.Builder<KinesisRecord> out) {
        String shardId = cursor.shardId();
        try {
            if (cursor.iterator == null) {
                cursor.iterator = shardIterator(cursor);
            }
            GetRecordsResponse response = client.getRecords(GetRecordsRequest.builder()
                    .streamARN(streamArn)
                    .shardIterator(cursor.iterator)
                    .limit(maxRecordsPerPoll)
                    .build());
            resetFailures(cursor);
            List<KinesisRecord> records = emit(cursor, response.records(), out);
            cursor.iterator = response.nextShardIterator();
            if (cursor.iterator == null) {
                // Closed shard read to its end (after a split or merge): children take over.
                LOG.info("Shard {} of {} is closed and fully read", shardId, streamArn);
                finish(cursor, out);
                return;
            }
            Long behind = response.millisBehindLatest();
            boolean catchingUp = !records.isEmpty() && behind != null && behind > 0;
            // Catching up: poll again soon, still within the 5 calls/s per shard quota.
            cursor.nextPollAt =
                    System.currentTimeMillis() + (catchingUp ? Math.min(pollIntervalMillis, 200L) : pollIntervalMillis);
        } catch (ExpiredIteratorException e) {
            // Iterators live 5 minutes; a long back-pressure pause can outlive one. Renew after the last fetched
            // record.
            LOG.info("Shard iterator of {} expired; renewing", shardId);
            cursor.iterator = null;
            cursor.nextPollAt = System.currentTimeMillis();
        } catch (ProvisionedThroughputExceededException | LimitExceededException | KmsThrottlingException e) {
            long backoff = backoffMillis(countFailure(cursor));
            LOG.warn(
                    "Throttled reading shard {} of {} ({}); backing off {} ms",
                    shardId,
                    streamArn,
                    e.getClass().getSimpleName(),
                    backoff);
            cursor.nextPollAt = System.currentTimeMillis() + backoff;
        } catch (ResourceNotFoundException e) {
            if (cursor.iterator == null) {
                // The shard itself is gone (past retention, e.g. restoring an old savepoint): nothing left to read.
                LOG.warn("Shard {} of {} no longer exists; treating it as fully read", shardId, streamArn, e);
                finish(cursor, out);
            } else {
                throw e;
            }
        } catch (SdkException e) {
            if (!KinesisErrors.isTransient(e)) {
                throw e;
            }
            // Kinesis or the network away for a while (the SDK's own retries are used up): wait and poll again with
            // the same iterator (nothing from that call was emitted), renewing it after the last record read if it
            // expired meanwhile. Failing instead would restart the job from its checkpoint and make the sink write
            // again everything that followed it.
            long backoff = backoffMillis(countFailure(cursor));
            LOG.warn(
                    "Reading shard {} of {} failed ({}); retrying in {} ms", shardId, streamArn, e.toString(), backoff);
            cursor.nextPollAt = System.currentTimeMillis() + backoff;
        }
    }

    /** Exponential backoff with jitter, starting at the poll interval and capped at 10 s. */
    long backoffMillis(int attempt) {
        return Backoff.equalJitter(Math.max(pollIntervalMillis, 100L), MAX_BACKOFF_MILLIS)
                .delayMillis(attempt);
    }

    private String shardIterator(ShardCursor cursor) {
        StartingPosition position = cursor.progress().startingPosition();
        GetShardIteratorRequest request = GetShardIteratorRequest.builder()
                .streamARN(streamArn)
                .shardId(cursor.shardId())
                .shardIteratorType(position.type())
                .startingSequenceNumber(position.sequenceNumber())
                .timestamp(position.timestamp())
                .build();
        return client.getShardIterator(request).shardIterator();
    }

    /** Sleeps until the deadline or {@link #wakeUp()}; returns true when woken up. */
    private boolean sleep(long millis) {
        synchronized (sleepLock) {
            long deadline = System.currentTimeMillis() + millis;
            try {
                while (!wokenUp) {
                    long left = deadline - System.currentTimeMillis();
                    if (left <= 0) {
                        break;
                    }
                    sleepLock.wait(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
            boolean woken = wokenUp;
            wokenUp = false;
            return woken;
        }
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<KinesisShardSplit> splitsToPause, Collection<KinesisShardSplit> splitsToResume) {
        // Used by watermark alignment: paused shards are simply not polled.
        for (KinesisShardSplit s : splitsToPause) {
            paused.add(s.shardId());
        }
        for (KinesisShardSplit s : splitsToResume) {
            paused.remove(s.shardId());
        }
    }

    @Override
    public void wakeUp() {
        synchronized (sleepLock) {
            wokenUp = true;
            sleepLock.notifyAll();
        }
    }
}
