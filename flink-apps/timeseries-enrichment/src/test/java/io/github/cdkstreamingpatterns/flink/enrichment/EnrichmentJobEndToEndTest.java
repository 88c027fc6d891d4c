package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * main()'s job graph ({@link EnrichmentJob#createJob}) against local Kinesis (kinesis-local) and S3 (s3rver): the
 * project's Kinesis source and sinks, the S3 reference loader, and the JSON contracts on the wire.
 */
class EnrichmentJobEndToEndTest {
    private static final String REGION = "us-east-1";
    private static final String ACCOUNT = "000000000000";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .build());

    private static LocalNodeServer kinesis;
    private static LocalNodeServer s3;
    private static String previousKeyId;
    private static String previousSecret;

    @BeforeAll
    static void startServers() throws Exception {
        kinesis = LocalNodeServer.kinesisLocal();
        s3 = LocalNodeServer.s3rver();
        // Job code uses the SDK's default credentials chain, as in production; system properties are part of it.
        previousKeyId = System.setProperty("aws.accessKeyId", LocalNodeServer.ACCESS_KEY);
        previousSecret = System.setProperty("aws.secretAccessKey", LocalNodeServer.SECRET_KEY);
    }

    @AfterAll
    static void stopServers() throws Exception {
        restore("aws.accessKeyId", previousKeyId);
        restore("aws.secretAccessKey", previousSecret);
        if (kinesis != null) {
            kinesis.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    private static String arn(String stream) {
        return "arn:aws:kinesis:" + REGION + ":" + ACCOUNT + ":stream/" + stream;
    }

    private static KinesisClient kinesisClient(String stream) {
        return KinesisClientConfig.of(arn(stream), REGION, kinesis.endpoint()).buildClient();
    }

    private static void createStream(KinesisClient client, String name, int shards) throws InterruptedException {
        client.createStream(b -> b.streamName(name).shardCount(shards));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (client.describeStreamSummary(b -> b.streamName(name))
                        .streamDescriptionSummary()
                        .streamStatus()
                != StreamStatus.ACTIVE) {
            assertThat(System.nanoTime()).as("stream " + name + " active").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static Properties group(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    /** Reads every record of the stream from TRIM_HORIZON, keyed by nothing: data and partition key per record. */
    private static List<Record> readAll(KinesisClient client, String stream) {
        List<Record> out = new ArrayList<>();
        for (Shard shard : client.listShards(b -> b.streamName(stream)).shards()) {
            String iterator = client.getShardIterator(b -> b.streamName(stream)
                            .shardId(shard.shardId())
                            .shardIteratorType(ShardIteratorType.TRIM_HORIZON))
                    .shardIterator();
            while (iterator != null) {
                String current = iterator;
                GetRecordsResponse r = client.getRecords(b -> b.shardIterator(current));
                out.addAll(r.records());
                if (r.records().isEmpty() || r.millisBehindLatest() == 0) {
                    break;
                }
                iterator = r.nextShardIterator();
            }
        }
        return out;
    }

    @Test
    void rawRecordsFromKinesisEndEnrichedOrDeadLetteredOnKinesis() throws Exception {
        String raw = "raw-" + System.nanoTime();
        String enriched = "enriched-" + System.nanoTime();
        String deadLetter = "dead-letter-" + System.nanoTime();
        try (KinesisClient client = kinesisClient(raw);
                S3Client admin = S3Client.builder()
                        .httpClientBuilder(UrlConnectionHttpClient.builder())
                        .endpointOverride(URI.create(s3.endpoint()))
                        .forcePathStyle(true)
                        .region(Region.of(REGION))
                        .credentialsProvider(StaticCredentialsProvider.create(
                                AwsBasicCredentials.create(LocalNodeServer.ACCESS_KEY, LocalNodeServer.SECRET_KEY)))
                        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                        .serviceConfiguration(S3Configuration.builder()
                                .chunkedEncodingEnabled(false)
                                .build())
                        .build()) {
            createStream(client, raw, 2);
            createStream(client, enriched, 1);
            createStream(client, deadLetter, 1);
            admin.createBucket(b -> b.bucket("reference-data"));
            admin.putObject(
                    b -> b.bucket("reference-data").key("devices.jsonl"),
                    RequestBody.fromString(
                            "{\"deviceId\":\"device-00001\",\"site\":\"plant-1\",\"deviceType\":\"thermostat\"}\n",
                            StandardCharsets.UTF_8));

            long t = System.currentTimeMillis() - 10_000;
            Map<String, String> records = new HashMap<>(); // payload -> partition key
            List<String> payloads = List.of(
                    json("e2e-known", "device-00001", t, 21.5),
                    json("e2e-unknown", "device-00077", t + 1, 19.0),
                    json("e2e-known", "device-00001", t, 21.5), // redelivery
                    "{\"eventId\":\"e2e-bad\",\"deviceId\":\"device-00001\",\"timestamp\":" + t + ",\"metrics\":{}}",
                    "not json at all");
            for (String p : payloads) {
                String key = p.contains("device-00077") ? "device-00077" : "device-00001";
                records.put(p, key);
                client.putRecord(b -> b.streamName(raw).partitionKey(key).data(SdkBytes.fromUtf8String(p)));
            }

            Map<String, Properties> groups = new HashMap<>();
            groups.put(
                    "KinesisSource",
                    group(
                            "stream.arn",
                            arn(raw),
                            "aws.region",
                            REGION,
                            "aws.endpoint",
                            kinesis.endpoint(),
                            "initial.position",
                            "TRIM_HORIZON",
                            "poll.interval.ms",
                            "100"));
            groups.put(
                    "KinesisSink",
                    group("stream.arn", arn(enriched), "aws.region", REGION, "aws.endpoint", kinesis.endpoint()));
            groups.put(
                    "DeadLetterSink",
                    group("stream.arn", arn(deadLetter), "aws.region", REGION, "aws.endpoint", kinesis.endpoint()));
            groups.put(
                    "Enrichment",
                    group(
                            "reference.s3.uri", "s3://reference-data/devices.jsonl",
                            "reference.refresh.seconds", "300",
                            "s3.endpoint", s3.endpoint(),
                            "s3.path.style", "true"));

            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(2);
            EnrichmentJob.createJob(env, groups);
            JobClient job = env.executeAsync("timeseries-enrichment-e2e");
            List<Record> out;
            List<Record> dead;
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                do {
                    Thread.sleep(500);
                    out = readAll(client, enriched);
                    dead = readAll(client, deadLetter);
                    assertThat(job.getJobStatus().get().isGloballyTerminalState())
                            .as("job still running")
                            .isFalse();
                } while ((out.size() < 2 || dead.size() < 2) && System.nanoTime() < deadline);
            } finally {
                job.cancel().get(1, TimeUnit.MINUTES);
            }

            assertThat(out).hasSize(2);
            Map<String, JsonNode> byId = new HashMap<>();
            for (Record r : out) {
                JsonNode node = MAPPER.readTree(r.data().asUtf8String());
                assertThat(r.partitionKey()).isEqualTo(node.get("deviceId").textValue());
                byId.put(node.get("eventId").textValue(), node);
            }
            assertThat(byId).containsOnlyKeys("e2e-known", "e2e-unknown");
            assertThat(byId.get("e2e-known").get("enriched").booleanValue()).isTrue();
            assertThat(byId.get("e2e-known").get("metadata").get("site").textValue())
                    .isEqualTo("plant-1");
            assertThat(byId.get("e2e-known").get("metadata").get("deviceType").textValue())
                    .isEqualTo("thermostat");
            assertThat(byId.get("e2e-unknown").get("enriched").booleanValue()).isFalse();
            assertThat(byId.get("e2e-unknown").get("metadata").size()).isZero();

            assertThat(dead).hasSize(2);
            Map<String, String> reasons = new HashMap<>();
            for (Record r : dead) {
                JsonNode node = MAPPER.readTree(r.data().asUtf8String());
                assertThat(node.get("stage").textValue()).isEqualTo("timeseries-enrichment");
                assertThat(r.partitionKey()).startsWith("dlq-");
                reasons.put(node.get("payload").textValue(), node.get("reason").textValue());
            }
            assertThat(reasons)
                    .containsOnly(Map.entry(payloads.get(3), "SCHEMA"), Map.entry(payloads.get(4), "MALFORMED_JSON"));
            // received (5) = enriched (2) + dead-lettered (2) + duplicates (1)
            assertThat(payloads.size()).isEqualTo(out.size() + dead.size() + 1);
            assertThat(out.stream().map(r -> r.data().asUtf8String()).collect(Collectors.toList()))
                    .doesNotHaveDuplicates();
        }
    }
}
