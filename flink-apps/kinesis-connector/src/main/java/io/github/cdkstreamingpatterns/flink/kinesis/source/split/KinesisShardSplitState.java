package io.github.cdkstreamingpatterns.flink.kinesis.source.split;

import org.apache.flink.annotation.Internal;

/** Mutable per-split progress kept by the reader; updated as each record is emitted. */
@Internal
public final class KinesisShardSplitState {
    private final KinesisShardSplit split;
    private String lastSequenceNumber;
    private long lastSubSequenceNumber;

    public KinesisShardSplitState(KinesisShardSplit split) {
        this.split = split;
        this.lastSequenceNumber = split.lastSequenceNumber();
        this.lastSubSequenceNumber = split.lastSubSequenceNumber();
    }

    /** Position of the record just emitted: a checkpoint can fall between two user records of one aggregate. */
    public void setLastEmitted(String sequenceNumber, long subSequenceNumber) {
        this.lastSequenceNumber = sequenceNumber;
        this.lastSubSequenceNumber = subSequenceNumber;
    }

    public KinesisShardSplit toSplit() {
        return split.withPosition(lastSequenceNumber, lastSubSequenceNumber);
    }
}
