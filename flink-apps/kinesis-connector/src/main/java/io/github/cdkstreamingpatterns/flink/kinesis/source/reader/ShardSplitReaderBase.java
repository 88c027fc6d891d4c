package io.github.cdkstreamingpatterns.flink.kinesis.source.reader;

import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.ShardProgress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.annotation.Internal;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.utils.SdkAutoCloseable;

/**
 * Split bookkeeping shared by the polling and the enhanced fan-out split reader, so that they differ only in how they
 * fetch: the shards assigned to this reader (in assignment order), each with its {@link ShardProgress} and its count
 * of failures in a row; the hand-off of fetched Kinesis records to de-aggregation and on to Flink; finishing a split
 * read to its end; closing the client. Everything here runs on the fetcher thread.
 *
 * @param <C> the Kinesis client the subclass fetches with; closed by {@link #close()}
 * @param <S> the subclass's per-shard state
 */
@Internal
public abstract class ShardSplitReaderBase<C extends SdkAutoCloseable, S extends ShardSplitReaderBase.ShardState>
        implements SplitReader<KinesisRecord, KinesisShardSplit> {
    protected final C client;
    // Assigned and not finished, by shard id, in assignment order.
    protected final Map<String, S> shards = new LinkedHashMap<>();

    protected ShardSplitReaderBase(C client) {
        this.client = client;
    }

    /** State of one assigned shard; subclasses add what their way of fetching needs. */
    public abstract static class ShardState {
        private final ShardProgress progress;
        private int failuresInARow;

        protected ShardState(KinesisShardSplit split) {
            this.progress = new ShardProgress(split);
        }

        public final ShardProgress progress() {
            return progress;
        }

        public final String shardId() {
            return progress.shardId();
        }
    }

    /** The state of a split just assigned to this reader. */
    protected abstract S newShardState(KinesisShardSplit split);

    /** Fetches from the shard(s) due next into {@code out}; returns early (with nothing) when woken up. */
    protected abstract void fetchInto(RecordsBySplits.Builder<KinesisRecord> out);

    @Override
    public RecordsWithSplitIds<KinesisRecord> fetch() {
        RecordsBySplits.Builder<KinesisRecord> out = new RecordsBySplits.Builder<>();
        fetchInto(out);
        return out.build();
    }

    /**
     * Turns one batch of records fetched from {@code shard} into the records to emit and adds them to {@code out};
     * returns them.
     */
    protected final List<KinesisRecord> emit(
            S shard, List<Record> fetched, RecordsBySplits.Builder<KinesisRecord> out) {
        // De-aggregated here, on the fetcher thread, so the task thread only emits.
        List<KinesisRecord> records = shard.progress().toRecords(fetched);
        if (!records.isEmpty()) {
            out.addAll(shard.shardId(), records);
        }
        return records;
    }

    /** Stops reading {@code shard} and reports its split finished (after the records already in {@code out}). */
    protected final void finish(S shard, RecordsBySplits.Builder<KinesisRecord> out) {
        shards.remove(shard.shardId());
        out.addFinishedSplit(shard.shardId());
    }

    /** A call on {@code shard} succeeded: the next failure backs off from the start again. */
    protected final void resetFailures(ShardState shard) {
        shard.failuresInARow = 0;
    }

    /** A call on {@code shard} failed; returns how many failed in a row, this one included. */
    protected final int countFailure(ShardState shard) {
        return ++shard.failuresInARow;
    }

    @Override
    public void handleSplitsChanges(SplitsChange<KinesisShardSplit> splitsChanges) {
        if (!(splitsChanges instanceof SplitsAddition)) {
            throw new UnsupportedOperationException(
                    "Unsupported splits change " + splitsChanges.getClass().getSimpleName());
        }
        for (KinesisShardSplit split : splitsChanges.splits()) {
            shards.put(split.shardId(), newShardState(split));
        }
    }

    @Override
    public void close() {
        client.close();
    }

    int assignedShardCount() {
        return shards.size();
    }
}
