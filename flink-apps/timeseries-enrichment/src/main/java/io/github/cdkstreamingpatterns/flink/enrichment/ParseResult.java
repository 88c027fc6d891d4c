package io.github.cdkstreamingpatterns.flink.enrichment;

/** Either a valid record or the reason it is not one. */
public final class ParseResult {
    private final TelemetryRecord record;
    private final DeadLetterReason reason;
    private final String detail;

    private ParseResult(TelemetryRecord record, DeadLetterReason reason, String detail) {
        this.record = record;
        this.reason = reason;
        this.detail = detail;
    }

    static ParseResult valid(TelemetryRecord record) {
        return new ParseResult(record, null, null);
    }

    static ParseResult invalid(DeadLetterReason reason, String detail) {
        return new ParseResult(null, reason, detail);
    }

    public boolean isValid() {
        return record != null;
    }

    /** The record; null when invalid. */
    public TelemetryRecord record() {
        return record;
    }

    /** The reason; null when valid. */
    public DeadLetterReason reason() {
        return reason;
    }

    /** Human-readable detail; null when valid. */
    public String detail() {
        return detail;
    }

    @Override
    public String toString() {
        return isValid() ? "valid(" + record + ")" : reason + ": " + detail;
    }
}
