package io.github.cdkstreamingpatterns.flink.kinesis;

/** Mutable per-split progress kept by the reader; updated as each record is emitted. */
final class KinesisShardSplitState {
  private final KinesisShardSplit split;
  private String lastSequenceNumber;
  private long lastSubSequenceNumber;

  KinesisShardSplitState(KinesisShardSplit split) {
    this.split = split;
    this.lastSequenceNumber = split.lastSequenceNumber();
    this.lastSubSequenceNumber = split.lastSubSequenceNumber();
  }

  /** Position of the record just emitted: a checkpoint can fall between two user records of one aggregate. */
  void setLastEmitted(String sequenceNumber, long subSequenceNumber) {
    this.lastSequenceNumber = sequenceNumber;
    this.lastSubSequenceNumber = subSequenceNumber;
  }

  KinesisShardSplit toSplit() {
    return split.withPosition(lastSequenceNumber, lastSubSequenceNumber);
  }
}
