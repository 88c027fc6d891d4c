package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.github.cdkstreamingpatterns.flink.common.Json;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSink;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A parsed, structurally validated function response:
 * {@code {"state","messages":[{"to","type","payload"}],"egress":[{"egress","partitionKey","type","payload"}],
 * "rejected":[{"messageId","reason"}]}}. {@code state} must be present (null deletes the state); the arrays are
 * optional. A structurally invalid response is treated like a failed call (retried, then dead-lettered).
 */
public final class FunctionResponse {
    /** Kinesis partition keys are 1..256 characters. */
    static final int MAX_PARTITION_KEY_CHARS = 256;

    /**
     * Largest Kinesis record (data plus partition key) the egress and dead-letter sinks accept. The sink fails the job
     * on a larger one, and the restart would replay the same input and fail again: egress records over it make the
     * response invalid, dead letters over it are cut to fit.
     */
    public static final long MAX_RECORD_BYTES = KinesisStreamSink.MAX_RECORD_SIZE_BYTES;

    /** A message to another function instance. */
    public static final class OutgoingMessage {
        public final Address to;
        public final String type;
        public final JsonNode payload;

        OutgoingMessage(Address to, String type, JsonNode payload) {
            this.to = to;
            this.type = type;
            this.payload = payload;
        }
    }

    /** A record for an egress stream. */
    public static final class EgressMessage {
        public final String egress;
        public final String partitionKey;
        public final String type;
        public final JsonNode payload;

        EgressMessage(String egress, String partitionKey, String type, JsonNode payload) {
            this.egress = egress;
            this.partitionKey = partitionKey;
            this.type = type;
            this.payload = payload;
        }
    }

    /** A message of the batch that the function refused. */
    public static final class Rejection {
        public final String messageId;
        public final String reason;

        Rejection(String messageId, String reason) {
            this.messageId = messageId;
            this.reason = reason;
        }
    }

    /** Null means: delete the state. */
    public final JsonNode state;

    public final List<OutgoingMessage> messages;
    public final List<EgressMessage> egress;
    public final List<Rejection> rejected;

    private FunctionResponse(
            JsonNode state, List<OutgoingMessage> messages, List<EgressMessage> egress, List<Rejection> rejected) {
        this.state = state;
        this.messages = Collections.unmodifiableList(messages);
        this.egress = Collections.unmodifiableList(egress);
        this.rejected = Collections.unmodifiableList(rejected);
    }

    /** Parses and validates a response body; throws {@link IllegalArgumentException} with the first problem found. */
    public static FunctionResponse parse(byte[] body) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (Exception e) {
            throw new IllegalArgumentException("response is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("response must be a JSON object");
        }
        if (!root.has("state")) {
            throw new IllegalArgumentException("response needs a 'state' field (null deletes the state)");
        }
        JsonNode state = root.get("state").isNull() ? null : root.get("state");

        List<OutgoingMessage> messages = new ArrayList<>();
        for (JsonNode m : array(root, "messages")) {
            JsonNode to = m.path("to");
            String toType = Json.nonEmptyText(to, "type");
            String toId = Json.nonEmptyText(to, "id");
            String type = Json.nonEmptyText(m, "type");
            if (toType == null || toId == null || toType.indexOf('/') >= 0 || type == null) {
                throw new IllegalArgumentException("messages[] entries need 'to':{'type','id'} and 'type': " + m);
            }
            messages.add(new OutgoingMessage(new Address(toType, toId), type, payload(m)));
        }
        List<EgressMessage> egress = new ArrayList<>();
        for (JsonNode e : array(root, "egress")) {
            String name = Json.nonEmptyText(e, "egress");
            String partitionKey = Json.nonEmptyText(e, "partitionKey");
            String type = Json.nonEmptyText(e, "type");
            if (name == null || partitionKey == null || type == null) {
                throw new IllegalArgumentException("egress[] entries need 'egress', 'partitionKey' and 'type': " + e);
            }
            // Kinesis rejects longer keys and the sink fails the job on them: caught here, the batch is retried and
            // dead-lettered instead of crash-looping the whole runtime on one bad response.
            if (partitionKey.length() > MAX_PARTITION_KEY_CHARS) {
                throw new IllegalArgumentException("egress[] partitionKey must have 1.." + MAX_PARTITION_KEY_CHARS
                        + " characters, got " + partitionKey.length());
            }
            egress.add(new EgressMessage(name, partitionKey, type, payload(e)));
        }
        List<Rejection> rejected = new ArrayList<>();
        for (JsonNode r : array(root, "rejected")) {
            String messageId = Json.nonEmptyText(r, "messageId");
            if (messageId == null) {
                throw new IllegalArgumentException("rejected[] entries need 'messageId': " + r);
            }
            String reason = r.path("reason").isTextual() ? r.get("reason").asText() : "";
            rejected.add(new Rejection(messageId, reason));
        }
        return new FunctionResponse(state, messages, egress, rejected);
    }

    private static JsonNode array(JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return JsonNodeFactory.instance.arrayNode();
        }
        if (!node.isArray()) {
            throw new IllegalArgumentException("'" + field + "' must be an array");
        }
        return node;
    }

    private static JsonNode payload(JsonNode node) {
        JsonNode payload = node.get("payload");
        return payload == null ? JsonNodeFactory.instance.objectNode() : payload;
    }
}
