package io.github.cdkstreamingpatterns.flink.kinesis;

/** Where a {@link KinesisStreamSource} starts reading shards that exist when the job starts without state. */
public enum InitialPosition {
    /** Only records written after the job started. */
    LATEST,
    /** The oldest record still retained by the stream. */
    TRIM_HORIZON,
    /** The first record at or after {@code initial.timestamp} (epoch millis). */
    AT_TIMESTAMP
}
