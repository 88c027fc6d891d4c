package io.github.cdkstreamingpatterns.flink.kinesis.source.reader;

import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.event.ShardsFinishedEvent;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplitState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;

/**
 * Source reader: one fetcher thread polls all shards of this subtask; records are emitted with their arrival time
 * as event timestamp, and the split state advances to each emitted record's sequence and sub-sequence number, so a
 * checkpoint captures exactly what was emitted before its barrier, even between two user records of one KPL
 * aggregate (Flink may checkpoint between any two records this reader emits).
 *
 * <p>Finished shards stay in this reader's checkpoints (marked finished) until a checkpoint taken after the first
 * one that contains them completes. The enumerator snapshots before the readers do, so a {@link ShardsFinishedEvent} sent in between is in
 * neither snapshot; without the marker a restore from that checkpoint would leave the enumerator waiting forever for a
 * parent no reader owns, and the children of a reshard would not be read until the parent left the retention window.
 * A restored finished split is not read again: its event is simply re-sent.
 */
@Internal
public final class KinesisSourceReader
        extends SingleThreadMultiplexSourceReaderBase<
                KinesisRecord, KinesisRecord, KinesisShardSplit, KinesisShardSplitState> {

    // Finished shards not yet covered by a completed checkpoint, and the first checkpoint that included each.
    private final Map<String, KinesisShardSplit> finishedSplits = new LinkedHashMap<>();
    private final Map<String, Long> finishedIncludedIn = new HashMap<>();

    public KinesisSourceReader(
            Supplier<SplitReader<KinesisRecord, KinesisShardSplit>> splitReaderSupplier, SourceReaderContext context) {
        super(splitReaderSupplier, new Emitter(), context.getConfiguration(), context);
    }

    @Override
    public void addSplits(List<KinesisShardSplit> splits) {
        List<KinesisShardSplit> toRead = new ArrayList<>(splits.size());
        List<String> alreadyFinished = new ArrayList<>();
        for (KinesisShardSplit split : splits) {
            if (split.isFinished()) {
                finishedSplits.put(split.splitId(), split);
                alreadyFinished.add(split.splitId());
            } else {
                toRead.add(split);
            }
        }
        if (!alreadyFinished.isEmpty()) {
            // Restored from a checkpoint whose enumerator state may predate these ends: tell it again (idempotent
            // there).
            context.sendSourceEventToCoordinator(new ShardsFinishedEvent(alreadyFinished));
        }
        if (!toRead.isEmpty()) {
            super.addSplits(toRead);
        }
    }

    @Override
    protected void onSplitFinished(Map<String, KinesisShardSplitState> finishedSplitIds) {
        for (Map.Entry<String, KinesisShardSplitState> e : finishedSplitIds.entrySet()) {
            finishedSplits.put(e.getKey(), e.getValue().toSplit().asFinished());
        }
        // Tell the enumerator so it can release child shards of these (parent-before-child ordering).
        context.sendSourceEventToCoordinator(new ShardsFinishedEvent(new ArrayList<>(finishedSplitIds.keySet())));
    }

    @Override
    public List<KinesisShardSplit> snapshotState(long checkpointId) {
        List<KinesisShardSplit> splits = new ArrayList<>(super.snapshotState(checkpointId));
        for (KinesisShardSplit finished : finishedSplits.values()) {
            finishedIncludedIn.putIfAbsent(finished.splitId(), checkpointId);
            splits.add(finished);
        }
        return splits;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        // A checkpoint after the first one holding the marker was triggered after that one was under way, so after the
        // event was sent; its enumerator snapshot knows the shard is finished. Keeping the marker one checkpoint longer
        // than strictly needed costs a few bytes and does not depend on how RPCs are ordered.
        finishedIncludedIn.entrySet().removeIf(e -> {
            if (e.getValue() < checkpointId) {
                finishedSplits.remove(e.getKey());
                return true;
            }
            return false;
        });
    }

    @Override
    protected KinesisShardSplitState initializedState(KinesisShardSplit split) {
        return new KinesisShardSplitState(split);
    }

    @Override
    protected KinesisShardSplit toSplitType(String splitId, KinesisShardSplitState state) {
        return state.toSplit();
    }

    static final class Emitter implements RecordEmitter<KinesisRecord, KinesisRecord, KinesisShardSplitState> {
        @Override
        public void emitRecord(KinesisRecord record, SourceOutput<KinesisRecord> output, KinesisShardSplitState state) {
            output.collect(record, record.approximateArrivalTimestamp());
            state.setLastEmitted(record.sequenceNumber(), record.subSequenceNumber());
        }
    }
}
