package io.github.cdkstreamingpatterns.flink.kinesis;

/** Mutable per-split progress kept by the reader; updated as each record is emitted. */
final class KinesisShardSplitState {
  private final KinesisShardSplit split;
  private String lastSequenceNumber;

  KinesisShardSplitState(KinesisShardSplit split) {
    this.split = split;
    this.lastSequenceNumber = split.lastSequenceNumber();
  }

  void setLastSequenceNumber(String sequenceNumber) {
    this.lastSequenceNumber = sequenceNumber;
  }

  KinesisShardSplit toSplit() {
    return split.withLastSequenceNumber(lastSequenceNumber);
  }
}
