package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DispatcherBackoffTest {
    @Test
    void backoffDoublesWithJitterAndIsCapped() {
        for (int i = 0; i < 200; i++) {
            assertThat(FunctionDispatcherOperator.backoffMillis(1, 100, 30_000)).isBetween(50L, 100L);
            assertThat(FunctionDispatcherOperator.backoffMillis(3, 100, 30_000)).isBetween(200L, 400L);
            assertThat(FunctionDispatcherOperator.backoffMillis(20, 100, 30_000)).isBetween(15_000L, 30_000L);
            assertThat(FunctionDispatcherOperator.backoffMillis(64, 100, 30_000)).isBetween(15_000L, 30_000L);
        }
    }
}
