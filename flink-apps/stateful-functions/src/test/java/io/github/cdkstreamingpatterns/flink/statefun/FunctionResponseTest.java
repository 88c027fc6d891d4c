package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FunctionResponseTest {
    private static FunctionResponse parse(String json) {
        return FunctionResponse.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void parsesAFullResponse() {
        FunctionResponse r = parse("""
                {"state":{"status":"PENDING"},
                 "messages":[{"to":{"type":"inventory","id":"sku-1"},"type":"ReserveStock","payload":{"qty":2}}],
                 "egress":[{"egress":"order-events","partitionKey":"order-1","type":"OrderPlaced","payload":{"a":1}}],
                 "rejected":[{"messageId":"m-1","reason":"duplicate"}]}
                """);
        assertThat(r.state.toString()).isEqualTo("{\"status\":\"PENDING\"}");
        assertThat(r.messages).singleElement().satisfies(m -> {
            assertThat(m.to).isEqualTo(new Address("inventory", "sku-1"));
            assertThat(m.type).isEqualTo("ReserveStock");
            assertThat(m.payload.toString()).isEqualTo("{\"qty\":2}");
        });
        assertThat(r.egress).singleElement().satisfies(e -> {
            assertThat(e.egress).isEqualTo("order-events");
            assertThat(e.partitionKey).isEqualTo("order-1");
        });
        assertThat(r.rejected)
                .singleElement()
                .satisfies(x -> assertThat(x.messageId + ":" + x.reason).isEqualTo("m-1:duplicate"));
    }

    @Test
    void nullStateMeansDeleteAndArraysAreOptional() {
        FunctionResponse r = parse("{\"state\":null}");
        assertThat(r.state).isNull();
        assertThat(r.messages).isEmpty();
        assertThat(r.egress).isEmpty();
        assertThat(r.rejected).isEmpty();
    }

    @Test
    void rejectsStructurallyInvalidResponses() {
        assertThatThrownBy(() -> parse("{}")).hasMessageContaining("'state'");
        assertThatThrownBy(() -> parse("[]")).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> parse("<html>")).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> parse("{\"state\":null,\"messages\":{}}"))
                .hasMessageContaining("'messages' must be an array");
        assertThatThrownBy(() -> parse("{\"state\":null,\"messages\":[{\"to\":{\"type\":\"a\"},\"type\":\"T\"}]}"))
                .hasMessageContaining("messages[]");
        assertThatThrownBy(() -> parse("{\"state\":null,\"egress\":[{\"egress\":\"e\",\"type\":\"T\"}]}"))
                .hasMessageContaining("egress[]");
        assertThatThrownBy(() -> parse("{\"state\":null,\"rejected\":[{\"reason\":\"x\"}]}"))
                .hasMessageContaining("rejected[]");
    }

    @Test
    void anEgressPartitionKeyKinesisWouldRejectMakesTheResponseInvalidInsteadOfFailingTheSink() {
        // The Kinesis sink throws on keys over 256 characters, which would fail the job on every restart.
        String ok = "k".repeat(256);
        assertThat(parse("{\"state\":null,\"egress\":[{\"egress\":\"e\",\"partitionKey\":\"" + ok
                                + "\",\"type\":\"T\"}]}")
                        .egress
                        .get(0)
                        .partitionKey)
                .hasSize(256);
        assertThatThrownBy(() -> parse("{\"state\":null,\"egress\":[{\"egress\":\"e\",\"partitionKey\":\"" + ok
                        + "x\",\"type\":\"T\"}]}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("partitionKey must have 1..256 characters, got 257");
    }

    @Test
    void deadLetterPartitionKeysFitKinesisWhateverTheAddress() {
        String longId = "a".repeat(300);
        DeadLetterRecord letter = DeadLetters.of(DeadLetters.REJECTED, "no", "order/" + longId, "{}", 1L);
        assertThat(letter.partitionKey).hasSize(256).isEqualTo(("order/" + longId).substring(0, 256));
        assertThat(DeadLetters.of(DeadLetters.REJECTED, "no", "order/o-1", "{}", 1L).partitionKey)
                .isEqualTo("order/o-1");
        assertThat(DeadLetters.of(DeadLetters.SCHEMA, "no", "", "{}", 1L).partitionKey)
                .isEqualTo("dead-letter");
    }
}
