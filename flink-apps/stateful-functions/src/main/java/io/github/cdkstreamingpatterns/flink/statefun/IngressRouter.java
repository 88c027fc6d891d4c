package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.Optional;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Turns event-store envelopes into messages for function instances: {@code type} selects the function type through
 * the module's ingress routes, {@code aggregateId} is the instance id, {@code eventId} becomes the message id.
 * Malformed envelopes and unrouted event types are dead-lettered with their reason.
 */
public final class IngressRouter extends ProcessFunction<byte[], RoutedMessage> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<DeadLetterRecord> DEAD_LETTERS = new OutputTag<>(
            "ingress-dead-letters", org.apache.flink.api.common.typeinfo.TypeInformation.of(DeadLetterRecord.class));

    private final ModuleDefinition module;
    private transient StatefunMetrics metrics;
    private transient Counter received;

    public IngressRouter(ModuleDefinition module) {
        this.module = module;
    }

    @Override
    public void open(OpenContext openContext) {
        metrics = new StatefunMetrics(getRuntimeContext().getMetricGroup(), StatefunMetrics.INGRESS_REASONS);
        received = metrics.counter(StatefunMetrics.MESSAGES_RECEIVED);
    }

    @Override
    public void processElement(byte[] value, Context ctx, Collector<RoutedMessage> out) {
        received.inc();
        Result result = route(module, value);
        if (result.message != null) {
            out.collect(result.message);
        } else {
            metrics.messageDeadLettered(result.reason);
            ctx.output(
                    DEAD_LETTERS,
                    DeadLetters.ofBytes(
                            result.reason, result.detail, result.partitionKey, value, System.currentTimeMillis()));
        }
    }

    /** Routing outcome: either a message or a dead-letter reason. */
    static final class Result {
        final RoutedMessage message;
        final String reason;
        final String detail;
        final String partitionKey;

        private Result(RoutedMessage message, String reason, String detail, String partitionKey) {
            this.message = message;
            this.reason = reason;
            this.detail = detail;
            this.partitionKey = partitionKey;
        }

        static Result rejected(String reason, String detail, String partitionKey) {
            return new Result(null, reason, detail, partitionKey);
        }
    }

    static Result route(ModuleDefinition module, byte[] value) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return Result.rejected(
                    DeadLetters.MALFORMED_JSON, "envelope is not valid JSON: " + e.getOriginalMessage(), "malformed");
        } catch (java.io.IOException e) {
            return Result.rejected(
                    DeadLetters.MALFORMED_JSON, "envelope is not readable JSON: " + e.getMessage(), "malformed");
        }
        if (root == null || !root.isObject()) {
            return Result.rejected(DeadLetters.MALFORMED_JSON, "envelope must be a JSON object", "malformed");
        }
        String aggregateId = Json.nonEmptyText(root, "aggregateId");
        String partitionKey = aggregateId == null ? "malformed" : aggregateId;
        String eventId = Json.nonEmptyText(root, "eventId");
        String type = Json.nonEmptyText(root, "type");
        if (eventId == null) {
            return Result.rejected(DeadLetters.SCHEMA, "envelope needs a non-empty string 'eventId'", partitionKey);
        }
        if (type == null) {
            return Result.rejected(DeadLetters.SCHEMA, "envelope needs a non-empty string 'type'", partitionKey);
        }
        if (aggregateId == null) {
            return Result.rejected(DeadLetters.SCHEMA, "envelope needs a non-empty string 'aggregateId'", partitionKey);
        }
        if (Json.nonEmptyText(root, "occurredAt") == null) {
            return Result.rejected(DeadLetters.SCHEMA, "envelope needs a non-empty string 'occurredAt'", partitionKey);
        }
        JsonNode payload = root.get("payload");
        if (payload == null || !payload.isObject()) {
            return Result.rejected(DeadLetters.SCHEMA, "envelope needs an object 'payload'", partitionKey);
        }
        Optional<String> functionType = module.routeIngress(type);
        if (functionType.isEmpty()) {
            return Result.rejected(
                    DeadLetters.UNKNOWN_EVENT_TYPE, "no ingress route for event type '" + type + "'", partitionKey);
        }
        ObjectNode message = Json.object();
        message.put("id", eventId);
        message.put("type", type);
        message.set("from", NullNode.getInstance());
        message.set("payload", payload);
        return new Result(
                new RoutedMessage(new Address(functionType.get(), aggregateId), eventId, Json.write(message)),
                null,
                null,
                partitionKey);
    }
}
