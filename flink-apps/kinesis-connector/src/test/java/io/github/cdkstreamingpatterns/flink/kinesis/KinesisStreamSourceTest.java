package io.github.cdkstreamingpatterns.flink.kinesis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;
import org.apache.flink.api.connector.source.Boundedness;
import org.junit.jupiter.api.Test;

class KinesisStreamSourceTest {
    static Properties base() {
        Properties p = new Properties();
        p.setProperty("stream.arn", KinesisClientConfigTest.ARN);
        p.setProperty("aws.region", "eu-west-1");
        return p;
    }

    @Test
    void defaultsToLatestPolling() {
        KinesisStreamSource s = KinesisStreamSource.fromProperties(base());
        assertThat(s.initialPosition()).isEqualTo(InitialPosition.LATEST);
        assertThat(s.pollIntervalMillis()).isEqualTo(200L);
        assertThat(s.getBoundedness()).isEqualTo(Boundedness.CONTINUOUS_UNBOUNDED);
    }

    @Test
    void readsPositionTimestampAndIntervals() {
        Properties p = base();
        p.setProperty("initial.position", "at_timestamp");
        p.setProperty("initial.timestamp", "1764403200123");
        p.setProperty("reader.type", "POLLING");
        p.setProperty("poll.interval.ms", "500");
        p.setProperty("shard.discovery.interval.ms", "30000");
        KinesisStreamSource s = KinesisStreamSource.fromProperties(p);
        assertThat(s.initialPosition()).isEqualTo(InitialPosition.AT_TIMESTAMP);
        assertThat(s.initialTimestampMillis()).isEqualTo(1764403200123L);
        assertThat(s.pollIntervalMillis()).isEqualTo(500L);
        assertThat(s.shardDiscoveryIntervalMillis()).isEqualTo(30000L);
    }

    @Test
    void efoUsesTheConsumerArn() {
        Properties p = base();
        p.setProperty("reader.type", "efo");
        String consumer = KinesisClientConfigTest.ARN + "/consumer/flink-app:1764403200";
        p.setProperty("efo.consumer.arn", consumer);
        assertThat(KinesisStreamSource.fromProperties(p).efoConsumerArn()).contains(consumer);
        assertThat(KinesisStreamSource.fromProperties(base()).efoConsumerArn()).isEmpty();
    }

    @Test
    void efoRequiresAConsumerArn() {
        Properties p = base();
        p.setProperty("reader.type", "EFO");
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'efo.consumer.arn'")
                .hasMessageContaining("<missing>");
    }

    @Test
    void efoConsumerMustBelongToTheStream() {
        Properties p = base();
        p.setProperty("reader.type", "EFO");
        String other = "arn:aws:kinesis:eu-west-1:123456789012:stream/other/consumer/c:1764403200";
        p.setProperty("efo.consumer.arn", other);
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'efo.consumer.arn'")
                .hasMessageContaining(other);
    }

    @Test
    void unknownReaderTypeIsRejected() {
        Properties p = base();
        p.setProperty("reader.type", "PUSH");
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'PUSH'");
    }

    @Test
    void unknownInitialPositionNamesKeyAndValue() {
        Properties p = base();
        p.setProperty("initial.position", "EARLIEST");
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'initial.position'")
                .hasMessageContaining("'EARLIEST'");
    }

    @Test
    void atTimestampRequiresATimestamp() {
        Properties p = base();
        p.setProperty("initial.position", "AT_TIMESTAMP");
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'initial.timestamp'");
    }

    @Test
    void nonNumericTimestampNamesKeyAndValue() {
        Properties p = base();
        p.setProperty("initial.position", "AT_TIMESTAMP");
        p.setProperty("initial.timestamp", "2026-11-29T08:00:00Z");
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'initial.timestamp'")
                .hasMessageContaining("'2026-11-29T08:00:00Z'");
    }

    @Test
    void builderRequiresClientConfig() {
        assertThatThrownBy(() -> KinesisStreamSource.builder().build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("clientConfig");
    }

    @Test
    void badClientPropertiesSurfaceFromTheSource() {
        Properties p = base();
        p.remove("aws.region");
        assertThatThrownBy(() -> KinesisStreamSource.fromProperties(p))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'aws.region'");
    }
}
