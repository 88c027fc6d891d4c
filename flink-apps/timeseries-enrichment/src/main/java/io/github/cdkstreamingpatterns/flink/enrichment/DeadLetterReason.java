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
  TIMESTAMP_PAST
}
