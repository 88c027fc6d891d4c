package io.github.cdkstreamingpatterns.flink.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApplicationPropertiesTest {
    @Test
    void parsesManagedFlinkPropertyGroups() throws Exception {
        String json =
                "[{\"PropertyGroupId\":\"KinesisSink\",\"PropertyMap\":{\"stream.arn\":\"arn:x\",\"n\":5,\"b\":true}},"
                        + "{\"PropertyGroupId\":\"Processing\",\"PropertyMap\":{}}]";
        Map<String, Properties> groups = ApplicationProperties.parse(stream(json));
        assertThat(groups).containsOnlyKeys("KinesisSink", "Processing");
        assertThat(groups.get("KinesisSink").getProperty("stream.arn")).isEqualTo("arn:x");
        assertThat(groups.get("KinesisSink").getProperty("n")).isEqualTo("5");
        assertThat(groups.get("KinesisSink").getProperty("b")).isEqualTo("true");
        assertThat(ApplicationProperties.require(groups, "Processing")).isEmpty();
        assertThat(ApplicationProperties.optional(groups, "Missing")).isEmpty();
        assertThatThrownBy(() -> ApplicationProperties.require(groups, "DeadLetterSink"))
                .hasMessage("missing property group DeadLetterSink (have [KinesisSink, Processing])");
    }

    @Test
    void rejectsMalformedPropertyFiles() {
        assertThatThrownBy(() -> ApplicationProperties.parse(stream("{}")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("JSON array");
        assertThatThrownBy(() -> ApplicationProperties.parse(stream("[{\"PropertyGroupId\":\"x\"}]")))
                .hasMessageContaining("PropertyMap");
        assertThatThrownBy(() -> ApplicationProperties.parse(stream("[{\"PropertyGroupId\":1,\"PropertyMap\":{}}]")))
                .hasMessageContaining("PropertyGroupId string");
        assertThatThrownBy(() -> ApplicationProperties.parse(
                        stream("[{\"PropertyGroupId\":\"x\",\"PropertyMap\":{\"k\":[1]}}]")))
                .hasMessage("property x.k must be a string, number or boolean");
        assertThatThrownBy(() -> ApplicationProperties.parse(
                        stream("[{\"PropertyGroupId\":\"x\",\"PropertyMap\":{\"k\":null}}]")))
                .hasMessage("property x.k must be a string, number or boolean");
    }

    @Test
    void aLocalRunReadsTheDevFile() throws Exception {
        assertThat(ApplicationProperties.load(true).get("Local").getProperty("aws.endpoint"))
                .isEqualTo("http://localhost:4567");
    }

    @Test
    void aLocalRunReadsTheFileTheSystemPropertyNames(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("props.json");
        Files.writeString(
                file, "[{\"PropertyGroupId\":\"KinesisSource\",\"PropertyMap\":{\"stream.arn\":\"arn:local\"}}]");
        String previous = System.getProperty(ApplicationProperties.FILE_PROPERTY);
        try {
            System.setProperty(ApplicationProperties.FILE_PROPERTY, file.toString());
            Map<String, Properties> groups = ApplicationProperties.load(true);
            // The file replaces the dev file: its groups only.
            assertThat(groups).containsOnlyKeys("KinesisSource");
            assertThat(groups.get("KinesisSource").getProperty("stream.arn")).isEqualTo("arn:local");
            // Deployed, the system property is ignored: still Managed Flink's properties, still an error off it.
            assertThatThrownBy(() -> ApplicationProperties.load(false))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("Managed Service for Apache Flink");

            Files.writeString(file, "{}");
            assertThatThrownBy(() -> ApplicationProperties.load(true))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContaining("JSON array");
            System.setProperty(
                    ApplicationProperties.FILE_PROPERTY,
                    dir.resolve("missing.json").toString());
            assertThatThrownBy(() -> ApplicationProperties.load(true))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("missing.json, which is not a file");
        } finally {
            if (previous == null) {
                System.clearProperty(ApplicationProperties.FILE_PROPERTY);
            } else {
                System.setProperty(ApplicationProperties.FILE_PROPERTY, previous);
            }
        }
    }

    @Test
    void aDeployedRunNeverFallsBackToTheDevFile() {
        // Off Managed Flink there is no runtime properties file: that is an error even though the dev file is on the
        // classpath, so a deployed application without its configuration cannot silently point at localhost.
        assertThatThrownBy(() -> ApplicationProperties.load(false)).isInstanceOf(IOException.class);
    }

    private static ByteArrayInputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }
}
