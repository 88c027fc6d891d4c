package io.github.cdkstreamingpatterns.flink.kinesis;

import java.io.Serializable;
import java.util.Objects;
import org.apache.flink.api.connector.source.SourceSplit;

/**
 * One shard and where to continue reading it. When {@link #lastSequenceNumber()} is set the reader resumes
 * {@code AFTER_SEQUENCE_NUMBER}, i.e. right after the last record it emitted before the checkpoint; otherwise it
 * starts at {@link #startPosition()}.
 */
public final class KinesisShardSplit implements SourceSplit, Serializable {
  private static final long serialVersionUID = 1L;

  private final String shardId;
  private final InitialPosition startPosition;
  private final long startTimestampMillis;
  private final String lastSequenceNumber;
  private final boolean finished;

  public KinesisShardSplit(
      String shardId, InitialPosition startPosition, long startTimestampMillis, String lastSequenceNumber) {
    this(shardId, startPosition, startTimestampMillis, lastSequenceNumber, false);
  }

  KinesisShardSplit(
      String shardId,
      InitialPosition startPosition,
      long startTimestampMillis,
      String lastSequenceNumber,
      boolean finished) {
    this.shardId = Objects.requireNonNull(shardId, "shardId");
    this.startPosition = Objects.requireNonNull(startPosition, "startPosition");
    this.startTimestampMillis = startTimestampMillis;
    this.lastSequenceNumber = lastSequenceNumber;
    this.finished = finished;
  }

  @Override
  public String splitId() {
    return shardId;
  }

  public String shardId() {
    return shardId;
  }

  public InitialPosition startPosition() {
    return startPosition;
  }

  /** Only meaningful for {@link InitialPosition#AT_TIMESTAMP}. */
  public long startTimestampMillis() {
    return startTimestampMillis;
  }

  /** Sequence number of the last record emitted from this shard, or {@code null} if none yet. */
  public String lastSequenceNumber() {
    return lastSequenceNumber;
  }

  public KinesisShardSplit withLastSequenceNumber(String sequenceNumber) {
    return new KinesisShardSplit(shardId, startPosition, startTimestampMillis, sequenceNumber, finished);
  }

  /**
   * True for a shard read to its end that a reader keeps in its checkpoint until a later checkpoint completes, so the
   * enumerator learns of the end again after a restore (see {@link KinesisSourceReader}). Such a split is never read.
   */
  public boolean isFinished() {
    return finished;
  }

  KinesisShardSplit asFinished() {
    return new KinesisShardSplit(shardId, startPosition, startTimestampMillis, lastSequenceNumber, true);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof KinesisShardSplit)) {
      return false;
    }
    KinesisShardSplit that = (KinesisShardSplit) o;
    return startTimestampMillis == that.startTimestampMillis
        && shardId.equals(that.shardId)
        && startPosition == that.startPosition
        && Objects.equals(lastSequenceNumber, that.lastSequenceNumber)
        && finished == that.finished;
  }

  @Override
  public int hashCode() {
    return Objects.hash(shardId, startPosition, startTimestampMillis, lastSequenceNumber, finished);
  }

  @Override
  public String toString() {
    return "KinesisShardSplit{shardId='" + shardId + "', start=" + startPosition
        + (startPosition == InitialPosition.AT_TIMESTAMP ? "@" + startTimestampMillis : "")
        + ", lastSequenceNumber=" + lastSequenceNumber + (finished ? ", finished" : "") + '}';
  }
}
