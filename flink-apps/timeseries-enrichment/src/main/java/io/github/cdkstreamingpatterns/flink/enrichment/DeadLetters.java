package io.github.cdkstreamingpatterns.flink.enrichment;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.Arrays;
import java.util.Base64;

/**
 * Builds this application's dead-letter records (the shared {@link DeadLetterRecord} contract, written by
 * {@link DeadLetterSerializationSchema}): stage {@value #STAGE}, the original bytes as text when they are valid UTF-8
 * or base64, {@code payloadEncoding} saying which.
 */
public final class DeadLetters {
    /** Value of the {@code stage} field for records dead-lettered by this application. */
    public static final String STAGE = "timeseries-enrichment";

    /** The bytes this application writes: Jackson's UTF-8 generator, characters outside the BMP as escapes. */
    static final DeadLetterRecord.Encoding ENCODING = DeadLetterRecord.Encoding.ESCAPED_SURROGATES;

    private DeadLetters() {}

    /**
     * Builds a dead-letter record that carries the original bytes, as text when they are valid UTF-8, cut when needed
     * so that it fits in {@link EnrichmentJob#MAX_RECORD_BYTES}.
     */
    public static DeadLetterRecord of(DeadLetterReason reason, String detail, byte[] original, long at) {
        DeadLetterRecord r = new DeadLetterRecord();
        r.reason = reason.name();
        r.detail = detail;
        r.stage = STAGE;
        String text = Json.strictUtf8(original);
        if (text != null) {
            r.payload = text;
            r.payloadEncoding = "utf-8";
        } else {
            r.payload = Base64.getEncoder().encodeToString(original);
            r.payloadEncoding = "base64";
        }
        r.at = at;
        // Same bytes -> same shard; different bad records spread over the shards (Kinesis hashes the key with MD5).
        r.partitionKey = "dlq-" + Integer.toHexString(Arrays.hashCode(original));
        return fit(r, EnrichmentJob.MAX_RECORD_BYTES);
    }

    /** {@link DeadLetterRecord#fit} in this application's encoding. */
    static DeadLetterRecord fit(DeadLetterRecord r, long maxRecordBytes) {
        return DeadLetterRecord.fit(r, maxRecordBytes, ENCODING);
    }
}
