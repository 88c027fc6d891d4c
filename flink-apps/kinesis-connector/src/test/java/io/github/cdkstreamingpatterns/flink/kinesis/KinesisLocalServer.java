package io.github.cdkstreamingpatterns.flink.kinesis;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ConsumerStatus;
import software.amazon.awssdk.services.kinesis.model.CreateStreamRequest;
import software.amazon.awssdk.services.kinesis.model.DescribeStreamConsumerRequest;
import software.amazon.awssdk.services.kinesis.model.DescribeStreamSummaryRequest;
import software.amazon.awssdk.services.kinesis.model.RegisterStreamConsumerRequest;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;

/**
 * Runs the {@code kinesis-local} npm package (kinesis-mock) on free loopback ports for one test class. The package
 * is looked up at {@code -Dkinesis.local.dir}, else at {@code ../../node_modules/kinesis-local} relative to the module
 * directory; if it is missing the tests fail (they never skip).
 */
public final class KinesisLocalServer implements BeforeAllCallback, AfterAllCallback {
    public static final String ACCOUNT = "000000000000";
    public static final String REGION = "us-east-1";

    private Process process;
    private int port;
    private Path log;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stop();
    }

    static Path locatePackage() {
        String override = System.getProperty("kinesis.local.dir");
        Path dir = override != null && !override.isBlank()
                ? Paths.get(override)
                : Paths.get("..", "..", "node_modules", "kinesis-local");
        dir = dir.toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve("main.js")) || !Files.isRegularFile(dir.resolve("server.json"))) {
            throw new IllegalStateException("kinesis-local not found at " + dir
                    + " (expected main.js and server.json). Run `npm ci` at the repository"
                    + " root, or point -Dkinesis.local.dir at the installed package.");
        }
        return dir;
    }

    void start() throws IOException, InterruptedException {
        // The SDK's default credential chain picks these up; access key 000000000000 selects kinesis-mock's account.
        System.setProperty("aws.accessKeyId", ACCOUNT);
        System.setProperty("aws.secretAccessKey", "local-secret");
        Path pkg = locatePackage();
        port = freePort();
        int tlsPort = freePort();
        log = Files.createTempFile("kinesis-local-" + port + "-", ".log");
        ProcessBuilder pb = new ProcessBuilder("node", pkg.resolve("main.js").toString());
        pb.environment()
                .put("KINESIS_MOCK_CERT_PATH", pkg.resolve("server.json").toString());
        pb.environment().put("KINESIS_MOCK_PLAIN_PORT", Integer.toString(port));
        pb.environment().put("KINESIS_MOCK_TLS_PORT", Integer.toString(tlsPort));
        pb.environment().put("LOG_LEVEL", "WARN");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        process = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!answers(port)) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "kinesis-local exited with " + process.exitValue() + ": " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                stop();
                throw new IllegalStateException(
                        "kinesis-local did not open port " + port + " within 60 s; log: " + log);
            }
            Thread.sleep(100);
        }
    }

    void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                // It has been seen ignoring SIGTERM.
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
        try {
            Files.deleteIfExists(log);
        } catch (IOException e) {
            // Only a temporary log; nothing depends on it.
        }
    }

    private static boolean answers(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public String streamArn(String streamName) {
        return "arn:aws:kinesis:" + REGION + ":" + ACCOUNT + ":stream/" + streamName;
    }

    public KinesisClientConfig config(String streamName) {
        return KinesisClientConfig.of(streamArn(streamName), REGION, endpoint());
    }

    /** Creates a provisioned stream and waits until it is ACTIVE; returns its config. */
    public KinesisClientConfig createStream(int shards) throws InterruptedException {
        String name = "it-" + UUID.randomUUID().toString().substring(0, 8);
        KinesisClientConfig config = config(name);
        try (KinesisClient client = config.buildClient()) {
            client.createStream(CreateStreamRequest.builder()
                    .streamName(name)
                    .shardCount(shards)
                    .build());
            awaitActive(client, config);
        }
        return config;
    }

    /** Waits until the stream is ACTIVE again (after create or reshard). */
    public void awaitActive(KinesisClient client, KinesisClientConfig config) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (client.describeStreamSummary(DescribeStreamSummaryRequest.builder()
                                .streamARN(config.streamArn())
                                .build())
                        .streamDescriptionSummary()
                        .streamStatus()
                != StreamStatus.ACTIVE) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Stream " + config.streamName() + " did not become ACTIVE within 30 s");
            }
            Thread.sleep(100);
        }
    }

    /** Registers an enhanced fan-out consumer and waits until it is ACTIVE; returns its ARN. */
    public String registerConsumer(KinesisClientConfig config, String name) throws InterruptedException {
        try (KinesisClient client = config.buildClient()) {
            String arn = client.registerStreamConsumer(RegisterStreamConsumerRequest.builder()
                            .streamARN(config.streamArn())
                            .consumerName(name)
                            .build())
                    .consumer()
                    .consumerARN();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (client.describeStreamConsumer(DescribeStreamConsumerRequest.builder()
                                    .consumerARN(arn)
                                    .build())
                            .consumerDescription()
                            .consumerStatus()
                    != ConsumerStatus.ACTIVE) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Consumer " + arn + " did not become ACTIVE within 30 s");
                }
                Thread.sleep(100);
            }
            return arn;
        }
    }
}
