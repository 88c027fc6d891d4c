package io.github.cdkstreamingpatterns.kcl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisLocalServer;
import io.github.cdkstreamingpatterns.flink.kinesis.aggregation.KplTestEncoder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.Projection;
import software.amazon.awssdk.services.dynamodb.model.ProjectionType;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.metrics.MetricsLevel;

/**
 * Real KCL 3 workers against kinesis-local (Kinesis) and dynalite (DynamoDB: the lease table, the KCL's coordinator
 * state and worker metrics tables, and the device state table). Nothing of the KCL is replaced: lease creation,
 * assignment, renewal, expiry and checkpoints all go through the local servers.
 */
class KclConsumerIntegrationTest {
    @RegisterExtension
    @Order(1)
    static final KinesisLocalServer KINESIS = new KinesisLocalServer();

    @RegisterExtension
    @Order(2)
    static final DynaliteServer DYNAMODB = new DynaliteServer();

    /** Short lease expiry, so a halted worker's leases move within seconds. */
    private static final long FAILOVER_MILLIS = 3_000;

    /** The leader's shard sync pauses a starting worker this long (KCL default 60 s). */
    private static final long SHARD_SYNC_MILLIS = 2_000;

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void twoWorkersShareTheShardsAndApplyEveryRecordOnceThenOneTakesOverTheOther() throws Exception {
        KinesisClientConfig stream = KINESIS.createStream(4);
        ConsumerSettings settings = settings(stream, "two-workers");
        try (DynamoDbClient dynamo = DYNAMODB.client();
                KinesisClient kinesis = stream.buildClient()) {
            createStateTable(dynamo, settings.stateTableName());
            createLeaseTable(dynamo, settings.applicationName());
            Map<String, List<String>> sent = new HashMap<>();

            KclConsumer first = KclConsumer.start(settings.withWorkerId("worker-a"));
            KclConsumer second = null;
            try {
                // Started at the same instant on a new application, both workers race to write the KCL's migration
                // state into the lease table and the loser's scheduler gives up (KCL 3.5.1). worker-b starts once the
                // state is there, before the leader creates the leases, so the first assignment shares them out.
                await("worker-a initialized the lease table", () -> itemCount(dynamo, settings.applicationName()) > 0);
                second = KclConsumer.start(settings.withWorkerId("worker-b"));
                KclConsumer b = second;
                await("both workers hold leases", () -> first.ownedShards() > 0 && b.ownedShards() > 0);
                put(kinesis, stream, plainRecords(40, 10, 0, sent));
                await("every record applied", () -> appliedTotal(dynamo, settings) == 400);
                assertThat(first.counts().applied() + second.counts().applied()).isEqualTo(400);
                assertThat(first.counts().applied()).isPositive();
                assertThat(second.counts().applied()).isPositive();
                // KCL 3.5 keeps its coordinator state and worker metrics in the lease table: no companion tables.
                assertThat(dynamo.listTables().tableNames())
                        .filteredOn(t -> t.startsWith(settings.applicationName()))
                        .containsExactly(settings.applicationName());

                // A crash: no checkpoint and no lease released; worker-b must wait for the leases to expire.
                first.halt();
                put(kinesis, stream, plainRecords(40, 5, 10, sent));
                await("worker-b holds all four shards", () -> b.ownedShards() == 4);
                await("the records after the crash applied", () -> appliedTotal(dynamo, settings) == 600);
            } finally {
                first.halt();
                if (second != null) {
                    second.close();
                }
            }
            assertStateMatches(dynamo, settings, sent);
            assertThat(first.counts().invalid() + second.counts().invalid()).isZero();
        }
    }

    @Test
    void appliesTheRecordsOfKplAggregatesEachOnce() throws Exception {
        KinesisClientConfig stream = KINESIS.createStream(2);
        ConsumerSettings settings = settings(stream, "aggregates");
        try (DynamoDbClient dynamo = DYNAMODB.client();
                KinesisClient kinesis = stream.buildClient()) {
            createStateTable(dynamo, settings.stateTableName());
            createLeaseTable(dynamo, settings.applicationName());
            Map<String, List<String>> sent = new HashMap<>();
            // 20 aggregates of 25 records, each aggregate one device's records in order, as the KPL batches them.
            List<PutRecordsRequestEntry> entries = new ArrayList<>();
            for (int d = 0; d < 20; d++) {
                String device = "agg-device-" + d;
                List<KplTestEncoder.Entry> inner = new ArrayList<>();
                for (int i = 0; i < 25; i++) {
                    String eventId = device + "-" + i;
                    sent.computeIfAbsent(device, k -> new ArrayList<>()).add(eventId);
                    inner.add(KplTestEncoder.Entry.of(device, json(eventId, device, i)));
                }
                entries.add(PutRecordsRequestEntry.builder()
                        .partitionKey(device)
                        .data(SdkBytes.fromByteArray(KplTestEncoder.aggregate(inner)))
                        .build());
            }
            // Not a record of the contract: logged and counted, and it must not stop the shard.
            entries.add(PutRecordsRequestEntry.builder()
                    .partitionKey("agg-device-0")
                    .data(SdkBytes.fromUtf8String("not json"))
                    .build());
            put(kinesis, stream, entries);

            KclConsumer worker = KclConsumer.start(settings.withWorkerId("worker-agg"));
            try {
                await("every aggregated record applied", () -> appliedTotal(dynamo, settings) == 500);
                await("the invalid record counted", () -> worker.counts().invalid() == 1);
            } finally {
                worker.close();
            }
            assertStateMatches(dynamo, settings, sent);
            Map<String, AttributeValue> item = item(dynamo, settings, "agg-device-3");
            // The last record of its aggregate: sub-sequence number 24.
            assertThat(item.get("position").s()).endsWith(":0000000000000000024");
        }
    }

    private static ConsumerSettings settings(KinesisClientConfig stream, String name) {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        return new ConsumerSettings(
                stream.streamArn(),
                null,
                "kcl-" + name + "-" + suffix,
                "device-state-" + suffix,
                KinesisLocalServer.REGION,
                InitialPositionInStream.TRIM_HORIZON,
                MetricsLevel.NONE,
                FAILOVER_MILLIS,
                SHARD_SYNC_MILLIS,
                Optional.of(java.net.URI.create(KINESIS.endpoint())),
                Optional.of(DYNAMODB.endpoint()),
                Optional.of(DYNAMODB.endpoint()),
                "unused");
    }

    static void createStateTable(DynamoDbClient dynamo, String name) {
        dynamo.createTable(b -> b.tableName(name)
                .billingMode(BillingMode.PAY_PER_REQUEST)
                .attributeDefinitions(AttributeDefinition.builder()
                        .attributeName("deviceId")
                        .attributeType(ScalarAttributeType.S)
                        .build())
                .keySchema(KeySchemaElement.builder()
                        .attributeName("deviceId")
                        .keyType(KeyType.HASH)
                        .build()));
        awaitActive(dynamo, name);
    }

    /**
     * The lease table as the CDK construct creates it: key {@code leaseKey}, and the KCL 3 index
     * {@code LeaseOwnerToLeaseKeyIndex} (leaseOwner, leaseKey; keys only). The KCL would add the index itself with
     * UpdateTable, which dynalite refuses for on-demand tables (it asks for provisioned throughput).
     */
    static void createLeaseTable(DynamoDbClient dynamo, String name) {
        dynamo.createTable(b -> b.tableName(name)
                .billingMode(BillingMode.PAY_PER_REQUEST)
                .attributeDefinitions(stringAttribute("leaseKey"), stringAttribute("leaseOwner"))
                .keySchema(key("leaseKey", KeyType.HASH))
                .globalSecondaryIndexes(GlobalSecondaryIndex.builder()
                        .indexName("LeaseOwnerToLeaseKeyIndex")
                        .keySchema(key("leaseOwner", KeyType.HASH), key("leaseKey", KeyType.RANGE))
                        .projection(Projection.builder()
                                .projectionType(ProjectionType.KEYS_ONLY)
                                .build())
                        .build()));
        awaitActive(dynamo, name);
    }

    /** Polls DescribeTable: the SDK's waiter sleeps 20 s between attempts, dynalite needs 50 ms. */
    private static void awaitActive(DynamoDbClient dynamo, String name) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (dynamo.describeTable(b -> b.tableName(name)).table().tableStatus() != TableStatus.ACTIVE) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("table " + name + " is not ACTIVE after 30 s");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static AttributeDefinition stringAttribute(String name) {
        return AttributeDefinition.builder()
                .attributeName(name)
                .attributeType(ScalarAttributeType.S)
                .build();
    }

    private static KeySchemaElement key(String name, KeyType type) {
        return KeySchemaElement.builder().attributeName(name).keyType(type).build();
    }

    /** {@code devices} devices with {@code perDevice} records each, numbered from {@code from}, recorded in {@code sent}. */
    private static List<PutRecordsRequestEntry> plainRecords(
            int devices, int perDevice, int from, Map<String, List<String>> sent) {
        List<PutRecordsRequestEntry> out = new ArrayList<>();
        for (int i = from; i < from + perDevice; i++) {
            for (int d = 0; d < devices; d++) {
                String device = "device-" + d;
                String eventId = device + "-" + i;
                sent.computeIfAbsent(device, k -> new ArrayList<>()).add(eventId);
                out.add(PutRecordsRequestEntry.builder()
                        .partitionKey(device)
                        .data(SdkBytes.fromUtf8String(json(eventId, device, i)))
                        .build());
            }
        }
        return out;
    }

    private static String json(String eventId, String device, int i) {
        return "{\"eventId\":\"" + eventId + "\",\"deviceId\":\"" + device + "\",\"timestamp\":"
                + (1_700_000_000_000L + i)
                + ",\"metrics\":{\"temperature\":" + (20.5 + i) + "},\"attributes\":{\"site\":\"north\"},"
                + "\"metadata\":{\"model\":\"T-1000\"},\"enriched\":true,\"processedAt\":1700000000999}";
    }

    /** PutRecords in order, one device's records in the order given (retrying only what failed, in order). */
    private static void put(KinesisClient kinesis, KinesisClientConfig stream, List<PutRecordsRequestEntry> entries) {
        for (int start = 0; start < entries.size(); start += 100) {
            List<PutRecordsRequestEntry> batch = entries.subList(start, Math.min(entries.size(), start + 100));
            PutRecordsResponse response = kinesis.putRecords(PutRecordsRequest.builder()
                    .streamARN(stream.streamArn())
                    .records(batch)
                    .build());
            assertThat(response.failedRecordCount()).isZero();
        }
    }

    private static long appliedTotal(DynamoDbClient dynamo, ConsumerSettings settings) {
        return dynamo.scanPaginator(b -> b.tableName(settings.stateTableName())).items().stream()
                .mapToLong(item -> Long.parseLong(item.get("appliedEvents").n()))
                .sum();
    }

    private static int itemCount(DynamoDbClient dynamo, String table) {
        return dynamo.scan(b -> b.tableName(table).consistentRead(true)).count();
    }

    private static Map<String, AttributeValue> item(DynamoDbClient dynamo, ConsumerSettings settings, String device) {
        return dynamo.getItem(b -> b.tableName(settings.stateTableName())
                        .key(Map.of("deviceId", AttributeValue.fromS(device)))
                        .consistentRead(true))
                .item();
    }

    /** Every device counted each of its records once, and holds its last record's state. */
    private static void assertStateMatches(
            DynamoDbClient dynamo, ConsumerSettings settings, Map<String, List<String>> sent) {
        Map<String, Map<String, AttributeValue>> items =
                dynamo.scanPaginator(b -> b.tableName(settings.stateTableName())).items().stream()
                        .collect(Collectors.toMap(i -> i.get("deviceId").s(), i -> i));
        assertThat(items.keySet()).containsExactlyInAnyOrderElementsOf(sent.keySet());
        sent.forEach((device, events) -> {
            Map<String, AttributeValue> item = items.get(device);
            assertThat(item.get("appliedEvents").n()).as(device).isEqualTo(Integer.toString(events.size()));
            assertThat(item.get("eventId").s()).as(device).isEqualTo(events.get(events.size() - 1));
            assertThat(item.get("metadata").m().get("model").s()).isEqualTo("T-1000");
        });
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + WAIT.toSeconds() + " s waiting until " + what);
            }
            Thread.sleep(200);
        }
    }
}
