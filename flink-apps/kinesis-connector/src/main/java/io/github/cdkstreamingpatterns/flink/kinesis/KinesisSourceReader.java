package io.github.cdkstreamingpatterns.flink.kinesis;

import java.util.ArrayList;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;

/**
 * Source reader: one fetcher thread polls all shards of this subtask; records are emitted with their arrival time
 * as event timestamp, and the split state advances to each emitted record's sequence number, so a checkpoint
 * captures exactly what was emitted before its barrier.
 */
final class KinesisSourceReader
    extends SingleThreadMultiplexSourceReaderBase<KinesisRecord, KinesisRecord, KinesisShardSplit, KinesisShardSplitState> {

  KinesisSourceReader(Supplier<SplitReader<KinesisRecord, KinesisShardSplit>> splitReaderSupplier,
      SourceReaderContext context) {
    super(splitReaderSupplier, new Emitter(), context.getConfiguration(), context);
  }

  @Override
  protected void onSplitFinished(Map<String, KinesisShardSplitState> finishedSplitIds) {
    // Tell the enumerator so it can release child shards of these (parent-before-child ordering).
    context.sendSourceEventToCoordinator(new ShardsFinishedEvent(new ArrayList<>(finishedSplitIds.keySet())));
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
      state.setLastSequenceNumber(record.sequenceNumber());
    }
  }
}
