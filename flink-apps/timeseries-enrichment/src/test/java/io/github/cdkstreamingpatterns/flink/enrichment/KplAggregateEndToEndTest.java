package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import io.github.cdkstreamingpatterns.flink.kinesis.aggregation.KplTestEncoder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
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
 * KPL aggregates on the raw stream, as {@code npm run simulate -- --aggregate} writes them, through main()'s job graph
 * against kinesis-local and s3rver: each user record is enriched or dead-lettered on its own, never the aggregate.
 */
class KplAggregateEndToEndTest {
    private static final String REGION = "us-east-1";
    private static final String ACCOUNT = "000000000000";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int N = 6;

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

    @Test
    void eachUserRecordIsEnrichedOrDeadLetteredOnItsOwnAndADamagedAggregateWhole() throws Exception {
        // One run of the job for the three cases: each MiniCluster job start costs seconds on the build machines.
        String raw = "raw-kpl-" + System.nanoTime();
        String enriched = "enriched-kpl-" + System.nanoTime();
        String deadLetter = "dead-letter-kpl-" + System.nanoTime();
        try (KinesisClient client = KinesisClientConfig.of(arn(raw), REGION, kinesis.endpoint())
                        .buildClient();
                S3Client admin = s3Client()) {
            createStream(client, raw, 2);
            createStream(client, enriched, 1);
            createStream(client, deadLetter, 1);
            admin.createBucket(b -> b.bucket("reference-data"));
            admin.putObject(
                    b -> b.bucket("reference-data").key("devices.jsonl"),
                    RequestBody.fromString(
                            "{\"deviceId\":\"device-00001\",\"site\":\"plant-1\",\"deviceType\":\"thermostat\"}\n",
                            StandardCharsets.UTF_8));

            // GIVEN aggregate A of N good records, and aggregate B of N records of which one breaks the schema
            long t = System.currentTimeMillis() - 10_000;
            List<KplTestEncoder.Entry> a = new ArrayList<>();
            List<KplTestEncoder.Entry> b = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                String device = i % 2 == 0 ? "device-00001" : "device-00077";
                a.add(KplTestEncoder.Entry.of(device, json("kpl-a-" + i, device, t + i, 20.0 + i)));
            }
            String bad =
                    "{\"eventId\":\"kpl-b-bad\",\"deviceId\":\"device-00001\",\"timestamp\":" + t + ",\"metrics\":{}}";
            for (int i = 0; i < N - 1; i++) {
                b.add(KplTestEncoder.Entry.of("device-00001", json("kpl-b-" + i, "device-00001", t + i, 30.0 + i)));
                if (i == 2) {
                    b.add(KplTestEncoder.Entry.of("device-00001", bad));
                }
            }
            // ... and an aggregate damaged in transit (wrong MD5): passed on whole, so it is dead-lettered, not lost
            byte[] damaged = KplTestEncoder.aggregate(
                    List.of(KplTestEncoder.Entry.of("device-00001", json("kpl-damaged", "device-00001", t, 1.0))));
            damaged[damaged.length - 1] ^= 1;
            for (byte[] data : List.of(KplTestEncoder.aggregate(a), KplTestEncoder.aggregate(b), damaged)) {
                client.putRecord(
                        r -> r.streamName(raw).partitionKey("aggregate").data(SdkBytes.fromByteArray(data)));
            }

            // WHEN the enrichment job reads the raw stream
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
                            "reference.s3.uri",
                            "s3://reference-data/devices.jsonl",
                            "reference.refresh.seconds",
                            "300",
                            "s3.endpoint",
                            s3.endpoint(),
                            "s3.path.style",
                            "true"));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
            env.setParallelism(2);
            EnrichmentJob.createJob(env, groups);
            JobClient job = env.executeAsync("kpl-enrichment-e2e");
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
                } while ((out.size() < 2 * N - 1 || dead.size() < 2) && System.nanoTime() < deadline);
                Thread.sleep(1_000); // anything extra (the aggregate itself, a repeat) would arrive now
                out = readAll(client, enriched);
                dead = readAll(client, deadLetter);
            } finally {
                job.cancel().get(1, TimeUnit.MINUTES);
            }

            // THEN N + (N - 1) enriched records, each with its own device as key; the bad user record and the damaged
            // aggregate dead-lettered
            Map<String, JsonNode> byId = new HashMap<>();
            for (Record r : out) {
                JsonNode node = MAPPER.readTree(r.data().asUtf8String());
                assertThat(r.partitionKey()).isEqualTo(node.get("deviceId").textValue());
                byId.put(node.get("eventId").textValue(), node);
            }
            assertThat(out).hasSize(2 * N - 1);
            List<String> expectedIds = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                expectedIds.add("kpl-a-" + i);
            }
            for (int i = 0; i < N - 1; i++) {
                expectedIds.add("kpl-b-" + i);
            }
            assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(expectedIds);
            assertThat(byId.get("kpl-a-0").get("enriched").booleanValue()).isTrue();
            assertThat(byId.get("kpl-a-0").get("metadata").get("site").textValue())
                    .isEqualTo("plant-1");
            assertThat(byId.get("kpl-a-1").get("enriched").booleanValue()).isFalse();

            assertThat(dead).hasSize(2);
            Map<String, JsonNode> byReason = new HashMap<>();
            for (Record r : dead) {
                JsonNode node = MAPPER.readTree(r.data().asUtf8String());
                byReason.put(node.get("reason").textValue(), node);
            }
            assertThat(byReason).containsOnlyKeys("SCHEMA", "MALFORMED_JSON");
            // The user record, not the aggregate blob it came in.
            assertThat(byReason.get("SCHEMA").get("payload").textValue()).isEqualTo(bad);
            assertThat(byReason.get("MALFORMED_JSON").get("payloadEncoding").textValue())
                    .isEqualTo("base64");
            assertThat(Base64.getDecoder()
                            .decode(byReason.get("MALFORMED_JSON")
                                    .get("payload")
                                    .textValue()))
                    .isEqualTo(damaged);
            assertThat(out.stream().map(r -> r.data().asUtf8String()).collect(Collectors.toList()))
                    .doesNotHaveDuplicates();
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

    private static S3Client s3Client() {
        return S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .endpointOverride(URI.create(s3.endpoint()))
                .forcePathStyle(true)
                .region(Region.of(REGION))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(LocalNodeServer.ACCESS_KEY, LocalNodeServer.SECRET_KEY)))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .serviceConfiguration(
                        S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .build();
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

    private static List<Record> readAll(KinesisClient client, String stream) {
        List<Record> out = new ArrayList<>();
        for (Shard shard : client.listShards(b -> b.streamName(stream)).shards()) {
            String iterator = client.getShardIterator(b -> b.streamName(stream)
                            .shardId(shard.shardId())
                            .shardIteratorType(ShardIteratorType.TRIM_HORIZON))
                    .shardIterator();
            while (iterator != null) {
                String current = iterator;
                GetRecordsResponse r = client.getRecords(g -> g.shardIterator(current));
                out.addAll(r.records());
                if (r.records().isEmpty() || r.millisBehindLatest() == 0) {
                    break;
                }
                iterator = r.nextShardIterator();
            }
        }
        return out;
    }
}
