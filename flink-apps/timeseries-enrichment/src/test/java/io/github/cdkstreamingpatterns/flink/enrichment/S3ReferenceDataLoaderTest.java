package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.flink.metrics.SimpleCounter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/** The S3 loader against a real local S3 server (s3rver), through endpoint override and path-style addressing. */
class S3ReferenceDataLoaderTest {
    private static final String BUCKET = "reference-data";
    private static LocalNodeServer server;
    private static S3Client admin;
    private static String previousKeyId;
    private static String previousSecret;

    @BeforeAll
    static void startServer() throws Exception {
        server = LocalNodeServer.s3rver();
        // The loader uses the SDK's default credentials chain, as in production; system properties are part of it.
        previousKeyId = System.setProperty("aws.accessKeyId", LocalNodeServer.ACCESS_KEY);
        previousSecret = System.setProperty("aws.secretAccessKey", LocalNodeServer.SECRET_KEY);
        admin = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .endpointOverride(URI.create(server.endpoint()))
                .forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(LocalNodeServer.ACCESS_KEY, LocalNodeServer.SECRET_KEY)))
                // s3rver predates aws-chunked uploads: without these it stores the chunk framing inside the object.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .serviceConfiguration(
                        S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .build();
        admin.createBucket(b -> b.bucket(BUCKET));
    }

    @AfterAll
    static void stopServer() throws Exception {
        restore("aws.accessKeyId", previousKeyId);
        restore("aws.secretAccessKey", previousSecret);
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    private static void put(String key, String body) {
        admin.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString(body, StandardCharsets.UTF_8));
    }

    private static S3ReferenceDataLoader loader(String bucket, String key, String endpoint) {
        return new S3ReferenceDataLoader(
                new EnrichmentSettings(bucket, key, Duration.ofSeconds(60), endpoint, true, "us-east-1"));
    }

    @Test
    void loadsRefreshesAndKeepsLastGoodCopyWhenTheObjectDisappears() throws Exception {
        String key = "devices/lifecycle.jsonl";
        put(key, "{\"deviceId\":\"device-00042\",\"site\":\"plant-1\",\"deviceType\":\"thermostat\"}\n");
        try (S3ReferenceDataLoader loader = loader(BUCKET, key, server.endpoint())) {
            SimpleCounter failures = new SimpleCounter();
            ReferenceDataCache cache = new ReferenceDataCache(loader, failures);

            assertThat(cache.refresh()).isTrue();
            assertThat(cache.lookup("device-00042"))
                    .containsEntry("site", "plant-1")
                    .containsEntry("deviceType", "thermostat");

            put(
                    key,
                    "{\"deviceId\":\"device-00042\",\"site\":\"plant-9\"}\n{\"deviceId\":\"device-00043\",\"site\":\"p\"}\n");
            assertThat(cache.refresh()).isTrue();
            assertThat(cache.lookup("device-00042")).containsEntry("site", "plant-9");
            assertThat(cache.current().size()).isEqualTo(2);

            admin.deleteObject(b -> b.bucket(BUCKET).key(key));
            assertThat(cache.refresh()).isFalse();
            assertThat(failures.getCount()).isEqualTo(1);
            assertThat(cache.lookup("device-00042")).containsEntry("site", "plant-9");
            assertThat(cache.current().size()).isEqualTo(2);

            put(key, "{\"deviceId\":\"device-00044\"}\n");
            assertThat(cache.refresh()).isTrue();
            assertThat(cache.lookup("device-00042")).isNull();
            assertThat(cache.lookup("device-00044")).isEmpty();
        }
    }

    @Test
    void unchangedObjectIsNotParsedAgain() throws Exception {
        String key = "devices/unchanged.jsonl";
        put(key, "{\"deviceId\":\"d1\",\"site\":\"a\"}\n");
        try (S3ReferenceDataLoader loader = loader(BUCKET, key, server.endpoint())) {
            ReferenceData first = loader.load();
            ReferenceData second = loader.load();
            // Same instance: the server answered 304 to If-None-Match and the parsed snapshot was reused.
            assertThat(second).isSameAs(first);
            put(key, "{\"deviceId\":\"d1\",\"site\":\"b\"}\n");
            ReferenceData third = loader.load();
            assertThat(third).isNotSameAs(first);
            assertThat(third.lookup("d1")).containsEntry("site", "b");
        }
    }

    @Test
    void missingObjectFailsWithStatusAndCode() {
        try (S3ReferenceDataLoader loader = loader(BUCKET, "devices/absent.jsonl", server.endpoint())) {
            assertThatThrownBy(loader::load)
                    .isInstanceOf(IOException.class)
                    .hasMessage("cannot read s3://reference-data/devices/absent.jsonl: HTTP 404 NoSuchKey");
        }
    }

    @Test
    void missingBucketFails() {
        try (S3ReferenceDataLoader loader = loader("no-such-bucket", "k", server.endpoint())) {
            assertThatThrownBy(loader::load)
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot read s3://no-such-bucket/k: HTTP 404");
        }
    }

    @Test
    void objectThatIsNotReferenceDataFails() {
        String key = "devices/wrong-format.csv";
        put(key, "deviceId,site\ndevice-1,plant-1\n");
        try (S3ReferenceDataLoader loader = loader(BUCKET, key, server.endpoint())) {
            assertThatThrownBy(loader::load)
                    .isInstanceOf(IOException.class)
                    .hasMessage("reference data has 2 line(s) and none is a valid device entry");
        }
    }

    @Test
    void unreachableEndpointFailsInsteadOfThrowingUnchecked() throws Exception {
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (S3ReferenceDataLoader loader = loader(BUCKET, "k", "http://127.0.0.1:" + closedPort)) {
            assertThatThrownBy(loader::load)
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cannot read s3://reference-data/k: ");
        }
    }
}
