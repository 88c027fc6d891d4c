package io.github.cdkstreamingpatterns.flink.kinesis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Properties;
import org.junit.jupiter.api.Test;

public class KinesisClientConfigTest {
    public static final String ARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/raw-telemetry";

    static Properties props(String arn, String region, String endpoint) {
        Properties p = new Properties();
        if (arn != null) {
            p.setProperty("stream.arn", arn);
        }
        if (region != null) {
            p.setProperty("aws.region", region);
        }
        if (endpoint != null) {
            p.setProperty("aws.endpoint", endpoint);
        }
        return p;
    }

    @Test
    void readsAllKeys() {
        KinesisClientConfig c = KinesisClientConfig.fromProperties(props(ARN, "eu-west-1", "http://127.0.0.1:4567"));
        assertThat(c.streamArn()).isEqualTo(ARN);
        assertThat(c.streamName()).isEqualTo("raw-telemetry");
        assertThat(c.region()).isEqualTo("eu-west-1");
        assertThat(c.endpoint()).contains("http://127.0.0.1:4567");
    }

    @Test
    void endpointIsOptionalAndBlankMeansAbsent() {
        assertThat(KinesisClientConfig.fromProperties(props(ARN, "eu-west-1", null))
                        .endpoint())
                .isEmpty();
        assertThat(KinesisClientConfig.fromProperties(props(ARN, "eu-west-1", "  "))
                        .endpoint())
                .isEmpty();
    }

    @Test
    void acceptsOtherPartitions() {
        KinesisClientConfig c =
                KinesisClientConfig.of("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s", "cn-north-1", null);
        assertThat(c.streamName()).isEqualTo("s");
    }

    @Test
    void missingStreamArnNamesTheKey() {
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props(null, "eu-west-1", null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'stream.arn'")
                .hasMessageContaining("<missing>");
    }

    @Test
    void malformedStreamArnNamesKeyAndValue() {
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props("raw-telemetry", "eu-west-1", null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'stream.arn'")
                .hasMessageContaining("'raw-telemetry'");
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(
                        props("arn:aws:sqs:eu-west-1:123456789012:queue/q", "eu-west-1", null)))
                .hasMessageContaining("arn:aws:sqs");
    }

    @Test
    void missingOrMalformedRegionNamesKeyAndValue() {
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props(ARN, null, null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'aws.region'");
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props(ARN, "Europe", null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'aws.region'")
                .hasMessageContaining("'Europe'");
    }

    @Test
    void regionMustMatchTheArn() {
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props(ARN, "us-east-1", null)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("eu-west-1")
                .hasMessageContaining("us-east-1");
    }

    @Test
    void endpointMustBeAnHttpUrl() {
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props(ARN, "eu-west-1", "localhost:4567")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'aws.endpoint'")
                .hasMessageContaining("'localhost:4567'");
        assertThatThrownBy(() -> KinesisClientConfig.fromProperties(props(ARN, "eu-west-1", "http://exa mple")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'aws.endpoint'");
    }

    @Test
    void survivesJavaSerialization() throws Exception {
        KinesisClientConfig c = KinesisClientConfig.of(ARN, "eu-west-1", "https://kinesis.example");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(c);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertThat(in.readObject()).isEqualTo(c);
        }
    }
}
