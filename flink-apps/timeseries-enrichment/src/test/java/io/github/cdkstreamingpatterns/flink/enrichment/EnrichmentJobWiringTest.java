package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.common.ApplicationProperties;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/** main()'s wiring: property groups -> Kinesis source, pipeline, Kinesis sinks (graph only, nothing runs). */
class EnrichmentJobWiringTest {
    @Test
    void devPropertiesBuildTheWholeJob() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        EnrichmentJob.createJob(env, ApplicationProperties.load(true));
        String plan = env.getExecutionPlan();
        assertThat(plan)
                .contains(
                        "kinesis-raw-source",
                        "record-data",
                        "validate",
                        "dedupe-by-eventId",
                        "event-time-watermarks",
                        "enrich-device-metadata",
                        "enriched-sink",
                        "dead-letter-sink");
    }

    private static Map<String, Properties> devGroupsWithout(String group) throws Exception {
        Map<String, Properties> groups = new LinkedHashMap<>(ApplicationProperties.load(true));
        groups.remove(group);
        return groups;
    }

    @Test
    void processingGroupIsOptional() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        EnrichmentJob.createJob(env, devGroupsWithout("Processing"));
        assertThat(env.getExecutionPlan()).contains("dedupe-by-eventId");
    }

    @Test
    void everyOtherGroupIsRequired() throws Exception {
        for (String group : new String[] {"KinesisSource", "KinesisSink", "DeadLetterSink", "Enrichment"}) {
            Map<String, Properties> groups = devGroupsWithout(group);
            assertThatThrownBy(
                            () -> EnrichmentJob.createJob(StreamExecutionEnvironment.getExecutionEnvironment(), groups))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("missing property group " + group);
        }
    }

    @Test
    void enrichmentRegionFallsBackToTheSourceRegion() throws Exception {
        Map<String, Properties> groups = ApplicationProperties.load(true);
        EnrichmentSettings settings = EnrichmentSettings.fromProperties(
                groups.get("Enrichment"), groups.get("KinesisSource").getProperty("aws.region"));
        assertThat(settings.region()).contains("us-east-1");
    }

    @Test
    void recordTypesAreFlinkPojosWithoutKryoFields() {
        for (Class<?> type : new Class<?>[] {TelemetryRecord.class, EnrichedRecord.class, DeadLetterRecord.class}) {
            TypeInformation<?> info = TypeInformation.of(type);
            assertThat(info).as(type.getSimpleName()).isInstanceOf(PojoTypeInfo.class);
            PojoTypeInfo<?> pojo = (PojoTypeInfo<?>) info;
            for (int i = 0; i < pojo.getArity(); i++) {
                assertThat(pojo.getTypeAt(i))
                        .as(type.getSimpleName() + " field " + i)
                        .isNotInstanceOf(GenericTypeInfo.class);
            }
        }
    }
}
