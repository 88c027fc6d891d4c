package io.github.cdkstreamingpatterns.kcl;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;

/**
 * The latest state of every device, one item per {@code deviceId} (partition key, string). Each write is conditional
 * on the record's position: it applies only when the item has no position yet or an older one. A batch replayed
 * after a lease moved to another worker (the KCL delivers at least once) therefore changes nothing, and
 * {@code appliedEvents} counts every record exactly once.
 *
 * <p>Item: {@code deviceId}, {@code eventId}, {@code eventTimestamp}, {@code metrics} (map of numbers),
 * {@code attributes} and {@code metadata} (maps of strings), {@code enriched}, {@code processedAt},
 * {@code position} (see {@link RecordPosition}), {@code shardId}, {@code appliedEvents}, {@code updatedAt}.
 *
 * <p>Positions compare within a shard. A device's records stay in one shard as long as the producer uses the device
 * id as partition key (the enrichment job does); after a reshard the KCL finishes a parent shard before its children,
 * whose sequence numbers are larger.
 */
public final class DeviceStateTable {
    /** What a write did. */
    public enum Outcome {
        APPLIED,
        /** The item already holds this record or a later one: a replay, or an older record. */
        ALREADY_APPLIED
    }

    private static final String UPDATE = "SET #eventId = :eventId, #eventTimestamp = :ts, #metrics = :metrics,"
            + " #attributes = :attributes, #metadata = :metadata, #enriched = :enriched,"
            + " #processedAt = :processedAt, #position = :position, #shardId = :shardId, #updatedAt = :now"
            + " ADD #appliedEvents :one";
    private static final String CONDITION = "attribute_not_exists(#position) OR #position < :position";
    // Names through placeholders: POSITION is a DynamoDB reserved word, and new attributes may collide with others.
    private static final Map<String, String> NAMES = placeholders(
            "eventId",
            "eventTimestamp",
            "metrics",
            "attributes",
            "metadata",
            "enriched",
            "processedAt",
            "position",
            "shardId",
            "updatedAt",
            "appliedEvents");

    private final DynamoDbAsyncClient client;
    private final String tableName;

    public DeviceStateTable(DynamoDbAsyncClient client, String tableName) {
        this.client = client;
        this.tableName = tableName;
    }

    public String tableName() {
        return tableName;
    }

    /** Applies {@code event}, read at {@code position} of {@code shardId}, unless the item is already there or later. */
    public Outcome apply(DeviceEvent event, String position, String shardId, long nowMillis) {
        Map<String, AttributeValue> values = new HashMap<>();
        values.put(":eventId", s(event.eventId()));
        values.put(":ts", n(Long.toString(event.timestamp())));
        Map<String, AttributeValue> metrics = new HashMap<>();
        event.metrics().forEach((k, v) -> metrics.put(k, n(Double.toString(v))));
        values.put(":metrics", AttributeValue.fromM(metrics));
        values.put(":attributes", strings(event.attributes()));
        values.put(":metadata", strings(event.metadata()));
        values.put(":enriched", AttributeValue.fromBool(event.enriched()));
        values.put(":processedAt", n(Long.toString(event.processedAt())));
        values.put(":position", s(position));
        values.put(":shardId", s(shardId));
        values.put(":now", n(Long.toString(nowMillis)));
        values.put(":one", n("1"));
        UpdateItemRequest request = UpdateItemRequest.builder()
                .tableName(tableName)
                .key(Map.of("deviceId", s(event.deviceId())))
                .updateExpression(UPDATE)
                .conditionExpression(CONDITION)
                .expressionAttributeNames(NAMES)
                .expressionAttributeValues(values)
                .build();
        try {
            client.updateItem(request).join();
            return Outcome.APPLIED;
        } catch (CompletionException e) {
            if (e.getCause() instanceof ConditionalCheckFailedException) {
                return Outcome.ALREADY_APPLIED;
            }
            throw e;
        }
    }

    private static Map<String, String> placeholders(String... attributes) {
        Map<String, String> names = new HashMap<>();
        for (String attribute : attributes) {
            names.put("#" + attribute, attribute);
        }
        return Map.copyOf(names);
    }

    private static AttributeValue strings(Map<String, String> values) {
        Map<String, AttributeValue> out = new HashMap<>();
        values.forEach((k, v) -> out.put(k, s(v)));
        return AttributeValue.fromM(out);
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }

    private static AttributeValue n(String value) {
        return AttributeValue.fromN(value);
    }
}
