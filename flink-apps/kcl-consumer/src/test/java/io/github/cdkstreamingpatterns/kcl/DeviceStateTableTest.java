package io.github.cdkstreamingpatterns.kcl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** The conditional write against dynalite: each position applies once, older positions never overwrite newer ones. */
class DeviceStateTableTest {
    @RegisterExtension
    static final DynaliteServer DYNAMODB = new DynaliteServer();

    private DynamoDbClient sync;
    private DynamoDbAsyncClient async;
    private DeviceStateTable table;

    @BeforeEach
    void createTable() {
        sync = DYNAMODB.client();
        async = DYNAMODB.asyncClient();
        String name = "state-" + UUID.randomUUID();
        KclConsumerIntegrationTest.createStateTable(sync, name);
        table = new DeviceStateTable(async, name);
    }

    @AfterEach
    void close() {
        sync.close();
        async.close();
    }

    @Test
    void appliesARecordOnceAndCountsItOnce() {
        DeviceEvent event = event("e1");
        String position = RecordPosition.of("49590338271490256608559692538361571095921575989136588898", 0);
        assertThat(table.apply(event, position, "shardId-000000000000", 1L))
                .isEqualTo(DeviceStateTable.Outcome.APPLIED);
        assertThat(table.apply(event, position, "shardId-000000000000", 2L))
                .isEqualTo(DeviceStateTable.Outcome.ALREADY_APPLIED);
        Map<String, AttributeValue> item = item();
        assertThat(item.get("appliedEvents").n()).isEqualTo("1");
        assertThat(item.get("updatedAt").n()).isEqualTo("1");
        assertThat(item.get("metrics").m().get("temperature").n()).isEqualTo("21.5");
    }

    @Test
    void anOlderRecordDoesNotOverwriteANewerOne() {
        table.apply(event("new"), RecordPosition.of("200", 0), "s", 1L);
        assertThat(table.apply(event("old"), RecordPosition.of("199", 7), "s", 2L))
                .isEqualTo(DeviceStateTable.Outcome.ALREADY_APPLIED);
        assertThat(table.apply(event("next"), RecordPosition.of("200", 1), "s", 3L))
                .isEqualTo(DeviceStateTable.Outcome.APPLIED);
        assertThat(item().get("eventId").s()).isEqualTo("next");
        assertThat(item().get("appliedEvents").n()).isEqualTo("2");
    }

    @Test
    void positionsOrderAsTheirNumbersDoWhateverTheirLength() {
        assertThat(RecordPosition.of("99", 0)).isLessThan(RecordPosition.of("100", 0));
        assertThat(RecordPosition.of("100", 9)).isLessThan(RecordPosition.of("100", 10));
        assertThat(RecordPosition.of("0100", 0)).isEqualTo(RecordPosition.of("100", 0));
        assertThatThrownBy(() -> RecordPosition.of("12a", 0)).hasMessageContaining("got 12a");
        assertThatThrownBy(() -> RecordPosition.of("1", -1)).hasMessageContaining("got -1");
    }

    @Test
    void parsesTheEnrichedContractAndRejectsOtherRecords() {
        StringBuilder reason = new StringBuilder();
        assertThat(DeviceEvent.parse(
                        "{\"eventId\":\"e\",\"deviceId\":\"d\",\"timestamp\":5,\"metrics\":{\"t\":1}}".getBytes(),
                        reason))
                .hasValueSatisfying(e -> assertThat(e.metrics()).containsEntry("t", 1.0));
        assertThat(DeviceEvent.parse("{\"deviceId\":\"d\",\"timestamp\":5}".getBytes(), reason))
                .isEmpty();
        assertThat(DeviceEvent.parse("{\"eventId\":\"e\",\"deviceId\":\"d\",\"timestamp\":1.5}".getBytes(), reason))
                .isEmpty();
        assertThat(DeviceEvent.parse(
                        "{\"eventId\":\"e\",\"deviceId\":\"d\",\"timestamp\":5,\"metrics\":{\"t\":NaN}}".getBytes(),
                        reason))
                .isEmpty();
        assertThat(reason.toString()).contains("eventId and deviceId", "timestamp must be an integer", "finite");
    }

    @Test
    void settingsNeedExactlyOneStreamAndValidEndpoints() {
        Map<String, String> base =
                Map.of("APPLICATION_NAME", "app", "STATE_TABLE_NAME", "t", "AWS_REGION", "eu-west-1");
        assertThatThrownBy(() -> ConsumerSettings.fromEnvironment(base))
                .hasMessageContaining("set exactly one of STREAM_ARN and STREAM_NAME");
        ConsumerSettings settings = ConsumerSettings.fromEnvironment(with(base, "STREAM_NAME", "s"));
        assertThat(settings.failoverTimeMillis()).isEqualTo(10_000);
        assertThat(settings.kinesisEndpoint()).isEqualTo(Optional.empty());
        assertThatThrownBy(() -> ConsumerSettings.fromEnvironment(with(base, "STREAM_ARN", "arn:aws:s3:::bucket")))
                .hasMessageContaining("STREAM_ARN must be a Kinesis stream ARN");
        assertThatThrownBy(() -> ConsumerSettings.fromEnvironment(
                        with(with(base, "STREAM_NAME", "s"), "KINESIS_ENDPOINT", "ftp://x")))
                .hasMessageContaining("KINESIS_ENDPOINT must be an http(s) URL, got ftp://x");
        assertThatThrownBy(() ->
                        ConsumerSettings.fromEnvironment(with(with(base, "STREAM_NAME", "s"), "METRICS_LEVEL", "ALL")))
                .hasMessageContaining("METRICS_LEVEL must be NONE, SUMMARY or DETAILED, got ALL");
    }

    private static Map<String, String> with(Map<String, String> env, String key, String value) {
        java.util.HashMap<String, String> out = new java.util.HashMap<>(env);
        out.put(key, value);
        return out;
    }

    private Map<String, AttributeValue> item() {
        return sync.getItem(b -> b.tableName(table.tableName())
                        .key(Map.of("deviceId", AttributeValue.fromS("d1")))
                        .consistentRead(true))
                .item();
    }

    private static DeviceEvent event(String eventId) {
        return new DeviceEvent(
                eventId, "d1", 1_700_000_000_000L, Map.of("temperature", 21.5), Map.of(), Map.of(), true, 0L);
    }
}
