package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ModuleDefinitionTest {
    private static final String VALID = """
            {"functions":{"order":{"endpoint":"https://abc.execute-api.eu-west-1.amazonaws.com/prod/order","timeoutMs":2000,"maxAttempts":4},
                          "inventory":{"endpoint":"http://127.0.0.1:8080/inventory"}},
             "ingress":[{"eventType":"PlaceOrder","functionType":"order"},{"eventType":"Restock","functionType":"inventory"}],
             "egress":{"order-events":{"streamArn":"arn:aws:kinesis:eu-west-1:123456789012:stream/order-events"}}}
            """;

    @Test
    void parsesFunctionsRoutesAndEgress() {
        ModuleDefinition module = ModuleDefinition.parse(VALID, 7000);

        assertThat(module.function("order")).hasValueSatisfying(f -> {
            assertThat(f.endpoint().toString()).isEqualTo("https://abc.execute-api.eu-west-1.amazonaws.com/prod/order");
            assertThat(f.timeoutMs()).isEqualTo(2000);
            assertThat(f.maxAttempts()).isEqualTo(4);
        });
        // request.timeout.ms and 5 attempts apply when the function does not say
        assertThat(module.function("inventory")).hasValueSatisfying(f -> {
            assertThat(f.timeoutMs()).isEqualTo(7000);
            assertThat(f.maxAttempts()).isEqualTo(5);
        });
        assertThat(module.routeIngress("PlaceOrder")).contains("order");
        assertThat(module.routeIngress("ShipOrder")).isEmpty();
        assertThat(module.egress())
                .containsEntry("order-events", "arn:aws:kinesis:eu-west-1:123456789012:stream/order-events");
    }

    @Test
    void rejectsIngressToUnknownFunction() {
        assertThatThrownBy(() -> ModuleDefinition.parse(
                        "{\"functions\":{\"order\":{\"endpoint\":\"http://x/o\"}},\"ingress\":[{\"eventType\":\"A\",\"functionType\":\"nope\"}]}",
                        5000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown function type 'nope'");
    }

    @Test
    void rejectsInvalidFunctions() {
        assertThatThrownBy(() -> ModuleDefinition.parse("{\"functions\":{}}", 5000))
                .hasMessageContaining("non-empty object");
        assertThatThrownBy(() -> ModuleDefinition.parse("{\"functions\":{\"o\":{}}}", 5000))
                .hasMessageContaining("needs an 'endpoint'");
        assertThatThrownBy(() -> ModuleDefinition.parse("{\"functions\":{\"o\":{\"endpoint\":\"ftp://x\"}}}", 5000))
                .hasMessageContaining("must be http(s): ftp://x");
        assertThatThrownBy(() -> ModuleDefinition.parse(
                        "{\"functions\":{\"o\":{\"endpoint\":\"http://x\",\"maxAttempts\":0}}}", 5000))
                .hasMessageContaining("maxAttempts must be >= 1, got 0");
        assertThatThrownBy(() -> ModuleDefinition.parse(
                        "{\"functions\":{\"o\":{\"endpoint\":\"http://x\",\"timeoutMs\":-1}}}", 5000))
                .hasMessageContaining("timeoutMs must be > 0, got -1");
        assertThatThrownBy(() -> ModuleDefinition.parse("{\"functions\":{\"a/b\":{\"endpoint\":\"http://x\"}}}", 5000))
                .hasMessageContaining("without '/': a/b");
        assertThatThrownBy(() -> ModuleDefinition.parse("not json", 5000)).hasMessageContaining("not valid JSON");
    }

    @Test
    void rejectsAnEventTypeRoutedToTwoFunctions() {
        assertThatThrownBy(() -> ModuleDefinition.parse("""
                {"functions":{"a":{"endpoint":"http://x/a"},"b":{"endpoint":"http://x/b"}},
                 "ingress":[{"eventType":"E","functionType":"a"},{"eventType":"E","functionType":"b"}]}
                """, 5000))
                .hasMessageContaining("'E' is routed to both 'a' and 'b'");
    }
}
