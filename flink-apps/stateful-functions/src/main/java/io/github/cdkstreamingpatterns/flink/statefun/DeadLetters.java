package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Builds dead-letter records in the shared format
 * {@code {"reason","detail","stage","payload","at"}}; payload is the original record as UTF-8 text, or base64 when
 * the bytes are not valid UTF-8. A record whose JSON plus partition key would exceed
 * {@link FunctionResponse#MAX_RECORD_BYTES} keeps only a prefix of its payload (cut by UTF-8 bytes, never inside a
 * surrogate pair) and gets {@code "truncated":true}, like the Lambda side's {@code fitEntry}: the sink would fail the
 * job on it after every restart, and a dead letter is never dropped.
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

    /** Longest detail kept when a record has to be cut; details from functions (rejection reasons) are unbounded. */
    static final int MAX_DETAIL_CHARS_WHEN_CUT = 4096;

    private DeadLetters() {}

    public static DeadLetterRecord of(String reason, String detail, String partitionKey, String payload, long at) {
        return of(reason, detail, partitionKey, payload, at, FunctionResponse.MAX_RECORD_BYTES);
    }

    static DeadLetterRecord of(String reason, String detail, String partitionKey, String payload, long at, long maxRecordBytes) {
        String key = partitionKey(partitionKey);
        long limit = maxRecordBytes - utf8Length(key);
        String json = json(reason, detail, payload, at, false);
        // UTF-8 takes at most 3 bytes per UTF-16 char: below that bound there is nothing to measure.
        if (3L * json.length() > limit && utf8Length(json) > limit) {
            json = cut(reason, detail, payload, at, limit);
        }
        return new DeadLetterRecord(reason, key, json);
    }

    private static String json(String reason, String detail, String payload, long at, boolean truncated) {
        ObjectNode node = Json.object();
        node.put("reason", reason);
        node.put("detail", detail);
        node.put("stage", STAGE);
        node.put("payload", payload);
        node.put("at", at);
        if (truncated) {
            node.put("truncated", true);
        }
        return Json.write(node);
    }

    /** The record with the longest payload prefix that keeps it within {@code limit} bytes. */
    private static String cut(String reason, String detail, String payload, long at, long limit) {
        String shortDetail = detail != null && detail.length() > MAX_DETAIL_CHARS_WHEN_CUT ? detail.substring(0, MAX_DETAIL_CHARS_WHEN_CUT) : detail;
        long budget = limit - utf8Length(json(reason, shortDetail, "", at, true));
        if (budget < 0) {
            throw new IllegalStateException("dead-letter record does not fit in " + limit + " bytes even without its payload");
        }
        // Longest prefix whose escaped UTF-8 size fits: escaping and multi-byte characters make size non-linear.
        int lo = 0;
        int hi = payload.length();
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (utf8Length(Json.write(TextNode.valueOf(payload.substring(0, mid)))) - 2 <= budget) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (lo > 0 && Character.isHighSurrogate(payload.charAt(lo - 1))) {
            lo--;
        }
        return json(reason, shortDetail, payload.substring(0, lo), at, true);
    }

    /** Bytes of {@code s} in UTF-8 as {@link String#getBytes} writes it (a lone surrogate becomes one '?'). */
    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                n += 1;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /**
     * The key is an aggregate id or address taken from input, which may exceed Kinesis' 256 characters; the sink would
     * then fail the job on every restart. Long keys are cut (same prefix, same shard is good enough for dead letters).
     */
    static String partitionKey(String key) {
        if (key == null || key.isEmpty()) {
            return "dead-letter";
        }
        return key.length() <= FunctionResponse.MAX_PARTITION_KEY_CHARS ? key : key.substring(0, FunctionResponse.MAX_PARTITION_KEY_CHARS);
    }

    public static DeadLetterRecord ofBytes(String reason, String detail, String partitionKey, byte[] payload, long at) {
        return of(reason, detail, partitionKey, payloadText(payload), at);
    }

    static String payloadText(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return Base64.getEncoder().encodeToString(bytes);
        }
    }
}
