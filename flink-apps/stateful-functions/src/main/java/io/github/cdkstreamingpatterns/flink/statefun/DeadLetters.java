package io.github.cdkstreamingpatterns.flink.statefun;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.Base64;

/**
 * Builds dead-letter records in the shared format
 * {@code {"reason","detail","stage","payload","at"}}; payload is the original record as UTF-8 text, or base64 when
 * the bytes are not valid UTF-8. A record whose JSON plus partition key would exceed
 * {@link FunctionResponse#MAX_RECORD_BYTES} keeps only a prefix of its payload (cut by UTF-8 bytes, never inside a
 * surrogate pair) and gets {@code "truncated":true}, like the Lambda side's {@code fitEntry}: the sink would fail the
 * job on it after every restart, and a dead letter is never dropped. The record is the shared {@link DeadLetterRecord},
 * written in this application's {@link #ENCODING}.
 */
public final class DeadLetters {
    public static final String STAGE = "stateful-functions";

    public static final String MALFORMED_JSON = "MALFORMED_JSON";
    public static final String SCHEMA = "SCHEMA";
    public static final String UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE";
    public static final String UNKNOWN_FUNCTION = "UNKNOWN_FUNCTION";
    public static final String UNKNOWN_EGRESS = "UNKNOWN_EGRESS";
    public static final String HTTP_STATUS = "HTTP_STATUS";
    public static final String TIMEOUT = "TIMEOUT";
    public static final String UNREACHABLE = "UNREACHABLE";
    public static final String INVALID_RESPONSE = "INVALID_RESPONSE";
    public static final String REJECTED = "REJECTED";
    public static final String FEEDBACK_OVERFLOW = "FEEDBACK_OVERFLOW";

    /**
     * The bytes this application writes: Jackson's text writer, then {@link String#getBytes}, characters outside the BMP
     * as raw UTF-8.
     */
    public static final DeadLetterRecord.Encoding ENCODING = DeadLetterRecord.Encoding.STRING_UTF8;

    private DeadLetters() {}

    public static DeadLetterRecord of(String reason, String detail, String partitionKey, String payload, long at) {
        return of(reason, detail, partitionKey, payload, at, FunctionResponse.MAX_RECORD_BYTES);
    }

    static DeadLetterRecord of(
            String reason, String detail, String partitionKey, String payload, long at, long maxRecordBytes) {
        DeadLetterRecord record =
                new DeadLetterRecord(reason, detail, STAGE, payload, null, at, partitionKey(partitionKey));
        return DeadLetterRecord.fit(record, maxRecordBytes, ENCODING);
    }

    /**
     * The key is an aggregate id or address taken from input, which may exceed Kinesis' 256 characters; the sink would
     * then fail the job on every restart. Long keys are cut (same prefix, same shard is good enough for dead letters).
     */
    static String partitionKey(String key) {
        if (key == null || key.isEmpty()) {
            return "dead-letter";
        }
        return key.length() <= FunctionResponse.MAX_PARTITION_KEY_CHARS
                ? key
                : key.substring(0, FunctionResponse.MAX_PARTITION_KEY_CHARS);
    }

    public static DeadLetterRecord ofBytes(String reason, String detail, String partitionKey, byte[] payload, long at) {
        return of(reason, detail, partitionKey, payloadText(payload), at);
    }

    static String payloadText(byte[] bytes) {
        String text = Json.strictUtf8(bytes);
        return text != null ? text : Base64.getEncoder().encodeToString(bytes);
    }
}
