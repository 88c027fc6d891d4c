package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.common.ApplicationProperties;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

class JobSettingsTest {
    private static Map<String, Properties> devProperties() throws Exception {
        try (InputStream in =
                JobSettingsTest.class.getClassLoader().getResourceAsStream(ApplicationProperties.DEV_FILE)) {
            return ApplicationProperties.parse(in);
        }
    }

    @Test
    void devPropertiesDescribeACompleteLocalSetup() throws Exception {
        JobSettings settings = JobSettings.from(devProperties());

        assertThat(settings.source().getProperty("stream.arn")).endsWith(":stream/event-store");
        assertThat(settings.deadLetters().getProperty("aws.endpoint")).startsWith("http://127.0.0.1:");
        assertThat(settings.egress()).containsOnlyKeys("order-events");
        assertThat(settings.dispatcher().module().functions()).containsOnlyKeys("order", "inventory");
        assertThat(settings.dispatcher().maxConcurrentCalls()).isEqualTo(100);
        assertThat(settings.dispatcher().maxPendingFeedback()).isEqualTo(10_000);
        assertThat(settings.dispatcher().signingRegion()).isNull();
        assertThat(settings.dispatcher().stateExport().bucket()).isEqualTo("statefun-state");
        assertThat(settings.dispatcher().stateExport().pathStyle()).isTrue();
        assertThat(settings.dispatcher().stateExport().intervalMs()).isEqualTo(60_000);
    }

    @Test
    void everyEgressNeedsItsPropertyGroupAndLimitsMustBePositive() throws Exception {
        Map<String, Properties> groups = new LinkedHashMap<>(devProperties());
        groups.remove("Egress.order-events");
        assertThatThrownBy(() -> JobSettings.from(groups))
                .hasMessageContaining("needs property group Egress.order-events");

        Map<String, Properties> badLimit = new LinkedHashMap<>(devProperties());
        badLimit.get("StatefulFunctions").setProperty("max.concurrent.calls", "0");
        assertThatThrownBy(() -> JobSettings.from(badLimit))
                .hasMessageContaining("'max.concurrent.calls' must be a positive integer, got '0'");

        Map<String, Properties> badBound = new LinkedHashMap<>(devProperties());
        badBound.get("StatefulFunctions").setProperty("max.pending.feedback", "-5");
        assertThatThrownBy(() -> JobSettings.from(badBound))
                .hasMessageContaining("'max.pending.feedback' must be a positive integer, got '-5'");

        Map<String, Properties> noBound = new LinkedHashMap<>(devProperties());
        noBound.get("StatefulFunctions").remove("max.pending.feedback");
        assertThat(JobSettings.from(noBound).dispatcher().maxPendingFeedback())
                .isEqualTo(DispatcherConfig.DEFAULT_MAX_PENDING_FEEDBACK);
    }

    @Test
    void theIngressDedupeTtlDefaultsTo60MinutesAndMustBeAPositiveNumberOfMinutes() throws Exception {
        assertThat(JobSettings.from(devProperties()).dispatcher().ingressDedupeTtl())
                .isEqualTo(java.time.Duration.ofMinutes(60));

        Map<String, Properties> set = new LinkedHashMap<>(devProperties());
        set.get("StatefulFunctions").setProperty("ingress.dedupe.ttl.minutes", " 15 ");
        assertThat(JobSettings.from(set).dispatcher().ingressDedupeTtl()).isEqualTo(java.time.Duration.ofMinutes(15));

        for (String bad : new String[] {"0", "-1", "1.5", "an hour"}) {
            Map<String, Properties> groups = new LinkedHashMap<>(devProperties());
            groups.get("StatefulFunctions").setProperty("ingress.dedupe.ttl.minutes", bad);
            assertThatThrownBy(() -> JobSettings.from(groups))
                    .hasMessageContaining(
                            "property 'ingress.dedupe.ttl.minutes' must be a positive integer, got '" + bad + "'");
        }
        assertThatThrownBy(() -> DispatcherConfig.builder(
                                JobSettings.from(devProperties()).dispatcher().module())
                        .ingressDedupeTtl(java.time.Duration.ZERO)
                        .build())
                .hasMessageContaining("ingress.dedupe.ttl.minutes must be positive, got PT0S");
    }

    @Test
    void signingRegionTurnsSigningOnAndModuleStreamArnFillsAnEmptyGroup() throws Exception {
        Map<String, Properties> groups = new LinkedHashMap<>(devProperties());
        groups.get("StatefulFunctions").setProperty("signing.region", "eu-west-1");
        groups.get("Egress.order-events").remove("stream.arn");

        JobSettings settings = JobSettings.from(groups);

        assertThat(settings.dispatcher().signingRegion()).isEqualTo("eu-west-1");
        assertThat(settings.egress().get("order-events").getProperty("stream.arn"))
                .isEqualTo("arn:aws:kinesis:us-east-1:000000000000:stream/order-events");
    }

    @Test
    void mainWiresOneSinkPerEgressAndCoLocatesTheFeedbackLoop() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(3);
        StatefulFunctionsJob.build(env, JobSettings.from(devProperties()));
        StreamGraph graph = env.getStreamGraph();

        Map<String, StreamNode> byName = new LinkedHashMap<>();
        graph.getStreamNodes().forEach(n -> byName.put(n.getOperatorName(), n));
        assertThat(byName.keySet()).anyMatch(n -> n.startsWith("egress-sink-order-events"));
        assertThat(byName.keySet()).anyMatch(n -> n.startsWith("dead-letter-sink"));
        StreamNode dispatcher = byName.get("statefun-dispatcher");
        // ingress router -> keyBy(address) -> ingress dedupe -> (same partitioning) dispatcher
        StreamNode dedupe = byName.get("statefun-ingress-dedupe");
        assertThat(graph.getSourceVertex(dedupe.getInEdges().get(0)).getOperatorName())
                .isEqualTo("statefun-ingress-router");
        assertThat(dispatcher.getInEdges())
                .singleElement()
                .satisfies(e -> assertThat(graph.getSourceVertex(e)).isSameAs(dedupe));
        StreamNode tail = byName.get("statefun-feedback-tail");
        assertThat(dispatcher.getCoLocationGroup()).isNotNull().isEqualTo(tail.getCoLocationGroup());
        assertThat(tail.getParallelism()).isEqualTo(dispatcher.getParallelism());
    }
}
