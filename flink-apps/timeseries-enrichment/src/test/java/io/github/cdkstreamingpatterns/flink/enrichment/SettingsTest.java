package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.common.ApplicationProperties;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class SettingsTest {
    private static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void processingDefaults() {
        ProcessingSettings s = ProcessingSettings.defaults();
        assertThat(s.dedupeTtl()).isEqualTo(Duration.ofMinutes(60));
        assertThat(s.maxOutOfOrderness()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.maxFutureSkew()).isEqualTo(Duration.ofSeconds(300));
        assertThat(s.maxPastAge()).isEqualTo(Duration.ofHours(24));
        assertThat(s.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void processingReadsEveryKey() {
        ProcessingSettings s = ProcessingSettings.fromProperties(props(
                "dedupe.ttl.minutes", "5",
                "max.out.of.orderness.seconds", " 0 ",
                "max.future.skew.seconds", "10",
                "max.past.age.hours", "2",
                "idle.timeout.seconds", "7"));
        assertThat(s.dedupeTtl()).isEqualTo(Duration.ofMinutes(5));
        assertThat(s.maxOutOfOrderness()).isZero();
        assertThat(s.maxFutureSkew()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.maxPastAge()).isEqualTo(Duration.ofHours(2));
        assertThat(s.idleTimeout()).isEqualTo(Duration.ofSeconds(7));
    }

    @Test
    void processingRejectsBadValuesWithKeyAndValue() {
        assertThatThrownBy(() -> ProcessingSettings.fromProperties(props("dedupe.ttl.minutes", "sixty")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("dedupe.ttl.minutes must be an integer, got 'sixty'");
        assertThatThrownBy(() -> ProcessingSettings.fromProperties(props("dedupe.ttl.minutes", "0")))
                .hasMessageContaining("dedupe.ttl.minutes must be positive");
        assertThatThrownBy(() -> ProcessingSettings.fromProperties(props("max.out.of.orderness.seconds", "-1")))
                .hasMessageContaining("max.out.of.orderness.seconds must not be negative");
    }

    @Test
    void enrichmentReadsS3UriAndOptions() {
        EnrichmentSettings s = EnrichmentSettings.fromProperties(
                props(
                        "reference.s3.uri", "s3://my-bucket/ref/devices.jsonl",
                        "reference.refresh.seconds", "30",
                        "s3.endpoint", "http://127.0.0.1:4569",
                        "s3.path.style", "TRUE"),
                "eu-west-1");
        assertThat(s.bucket()).isEqualTo("my-bucket");
        assertThat(s.key()).isEqualTo("ref/devices.jsonl");
        assertThat(s.refreshInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.endpoint()).contains("http://127.0.0.1:4569");
        assertThat(s.pathStyle()).isTrue();
        assertThat(s.region()).contains("eu-west-1");
        assertThat(s.uri()).isEqualTo("s3://my-bucket/ref/devices.jsonl");
    }

    @Test
    void enrichmentDefaultsAndOwnRegionWins() {
        EnrichmentSettings s = EnrichmentSettings.fromProperties(
                props("reference.s3.uri", "s3://b/k", "aws.region", "us-west-2"), "eu-west-1");
        assertThat(s.refreshInterval()).isEqualTo(Duration.ofSeconds(300));
        assertThat(s.endpoint()).isEmpty();
        assertThat(s.pathStyle()).isFalse();
        assertThat(s.region()).contains("us-west-2");
        assertThat(EnrichmentSettings.fromProperties(props("reference.s3.uri", "s3://b/k"), null)
                        .region())
                .isEmpty();
    }

    @Test
    void enrichmentRejectsBadValues() {
        assertThatThrownBy(() -> EnrichmentSettings.fromProperties(props(), null))
                .hasMessage("reference.s3.uri is required (s3://bucket/key)");
        assertThatThrownBy(() -> EnrichmentSettings.fromProperties(props("reference.s3.uri", "https://b/k"), null))
                .hasMessage("reference.s3.uri must look like s3://bucket/key, got 'https://b/k'");
        assertThatThrownBy(() -> EnrichmentSettings.fromProperties(props("reference.s3.uri", "s3://bucket-only"), null))
                .hasMessageContaining("must look like s3://bucket/key");
        assertThatThrownBy(() -> EnrichmentSettings.fromProperties(
                        props("reference.s3.uri", "s3://b/k", "s3.path.style", "yes"), null))
                .hasMessage("s3.path.style must be true or false, got 'yes'");
        assertThatThrownBy(() -> EnrichmentSettings.fromProperties(
                        props("reference.s3.uri", "s3://b/k", "reference.refresh.seconds", "0"), null))
                .hasMessageContaining("reference.refresh.seconds must be positive");
    }

    @Test
    void devPropertiesFileConfiguresEveryGroupAgainstLocalEndpoints() throws Exception {
        Map<String, Properties> groups = ApplicationProperties.load(true);
        assertThat(groups).containsKeys("KinesisSource", "KinesisSink", "DeadLetterSink", "Enrichment", "Processing");
        for (String g : new String[] {"KinesisSource", "KinesisSink", "DeadLetterSink"}) {
            assertThat(groups.get(g).getProperty("stream.arn")).startsWith("arn:aws:kinesis:");
            assertThat(groups.get(g).getProperty("aws.endpoint")).startsWith("http://localhost:");
        }
        EnrichmentSettings enrichment = EnrichmentSettings.fromProperties(
                groups.get("Enrichment"), groups.get("KinesisSource").getProperty("aws.region"));
        assertThat(enrichment.endpoint()).hasValueSatisfying(e -> assertThat(e).startsWith("http://localhost:"));
        assertThat(enrichment.pathStyle()).isTrue();
        assertThat(ProcessingSettings.fromProperties(groups.get("Processing")).dedupeTtl())
                .isEqualTo(Duration.ofMinutes(60));
    }
}
