package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Builds dead-letter records in the shared format
 * {@code {"reason","detail","stage","payload","at"}}; payload is the original record as UTF-8 text, or base64 when
 * the bytes are not valid UTF-8.
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

    private DeadLetters() {}

    public static DeadLetterRecord of(String reason, String detail, String partitionKey, String payload, long at) {
        ObjectNode node = Json.object();
        node.put("reason", reason);
        node.put("detail", detail);
        node.put("stage", STAGE);
        node.put("payload", payload);
        node.put("at", at);
        return new DeadLetterRecord(reason, partitionKey(partitionKey), Json.write(node));
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
