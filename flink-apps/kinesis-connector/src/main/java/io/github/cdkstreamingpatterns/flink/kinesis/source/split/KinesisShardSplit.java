package io.github.cdkstreamingpatterns.flink.kinesis.source.split;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import java.io.Serializable;
import java.util.Objects;
import org.apache.flink.api.connector.source.SourceSplit;

/**
 * One shard and where to continue reading it. When {@link #lastSequenceNumber()} is set the reader resumes right
 * after the last record it emitted before the checkpoint; otherwise it starts at {@link #startPosition()}. With a
 * {@link #lastSubSequenceNumber()} (always set by this version's readers) "the last record" is a user record of a KPL
 * aggregate: the reader re-reads the aggregate {@code AT_SEQUENCE_NUMBER} and skips the user records up to and
 * including that index, so a checkpoint taken between two user records of one aggregate neither repeats nor loses
 * any. Without one (checkpoints of earlier versions, which emitted aggregates whole) it resumes
 * {@code AFTER_SEQUENCE_NUMBER}.
 */
public final class KinesisShardSplit implements SourceSplit, Serializable {
    private static final long serialVersionUID = 1L;

    private final String shardId;
    private final InitialPosition startPosition;
    private final long startTimestampMillis;
    private final String lastSequenceNumber;
    private final long lastSubSequenceNumber;
    private final boolean finished;

    /** {@link #lastSubSequenceNumber()} of a split whose last record was emitted whole (or that has none yet). */
    public static final long NO_SUB_SEQUENCE_NUMBER = -1L;

    public KinesisShardSplit(
            String shardId, InitialPosition startPosition, long startTimestampMillis, String lastSequenceNumber) {
        this(shardId, startPosition, startTimestampMillis, lastSequenceNumber, NO_SUB_SEQUENCE_NUMBER, false);
    }

    KinesisShardSplit(
            String shardId,
            InitialPosition startPosition,
            long startTimestampMillis,
            String lastSequenceNumber,
            long lastSubSequenceNumber,
            boolean finished) {
        this.shardId = Objects.requireNonNull(shardId, "shardId");
        this.startPosition = Objects.requireNonNull(startPosition, "startPosition");
        this.startTimestampMillis = startTimestampMillis;
        this.lastSequenceNumber = lastSequenceNumber;
        this.lastSubSequenceNumber = lastSequenceNumber == null ? NO_SUB_SEQUENCE_NUMBER : lastSubSequenceNumber;
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

    /**
     * Index within the aggregate at {@link #lastSequenceNumber()} of the last user record emitted (0 for a plain
     * record), or {@link #NO_SUB_SEQUENCE_NUMBER} when that record was emitted whole.
     */
    public long lastSubSequenceNumber() {
        return lastSubSequenceNumber;
    }

    public KinesisShardSplit withLastSequenceNumber(String sequenceNumber) {
        return withPosition(sequenceNumber, NO_SUB_SEQUENCE_NUMBER);
    }

    KinesisShardSplit withPosition(String sequenceNumber, long subSequenceNumber) {
        return new KinesisShardSplit(
                shardId, startPosition, startTimestampMillis, sequenceNumber, subSequenceNumber, finished);
    }

    /**
     * True for a shard read to its end that a reader keeps in its checkpoint until a later checkpoint completes, so the
     * enumerator learns of the end again after a restore (see
     * {@link io.github.cdkstreamingpatterns.flink.kinesis.source.reader.KinesisSourceReader}). Such a split is never
     * read.
     */
    public boolean isFinished() {
        return finished;
    }

    public KinesisShardSplit asFinished() {
        return new KinesisShardSplit(
                shardId, startPosition, startTimestampMillis, lastSequenceNumber, lastSubSequenceNumber, true);
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
                && lastSubSequenceNumber == that.lastSubSequenceNumber
                && finished == that.finished;
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                shardId, startPosition, startTimestampMillis, lastSequenceNumber, lastSubSequenceNumber, finished);
    }

    @Override
    public String toString() {
        return "KinesisShardSplit{shardId='" + shardId + "', start=" + startPosition
                + (startPosition == InitialPosition.AT_TIMESTAMP ? "@" + startTimestampMillis : "")
                + ", lastSequenceNumber=" + lastSequenceNumber
                + (lastSubSequenceNumber == NO_SUB_SEQUENCE_NUMBER ? "" : "/" + lastSubSequenceNumber)
                + (finished ? ", finished" : "") + '}';
    }
}
