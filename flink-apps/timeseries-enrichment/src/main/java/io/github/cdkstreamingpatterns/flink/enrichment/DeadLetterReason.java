package io.github.cdkstreamingpatterns.flink.enrichment;

/** Reason codes this application writes into dead-letter records (shared contract). */
public enum DeadLetterReason {
    /** Not UTF-8, empty, not parseable as one JSON value, trailing data or duplicate field names. */
    MALFORMED_JSON,
    /** Valid JSON that does not follow the record contract: wrong shape, missing fields, wrong types, bad names. */
    SCHEMA,
    /** Right type but value outside what the contract allows (NaN, infinity, numbers too large). */
    OUT_OF_RANGE,
    /** Event time further in the future than {@code max.future.skew.seconds}. */
    TIMESTAMP_FUTURE,
    /** Event time older than {@code max.past.age.hours}. */
    TIMESTAMP_PAST,
    /**
     * Valid, but the enriched record would exceed Kinesis' record size limit ({@link EnrichmentJob#MAX_RECORD_BYTES},
     * data plus partition key); the sink would fail the job on it after every restart.
     */
    RECORD_TOO_LARGE
}
