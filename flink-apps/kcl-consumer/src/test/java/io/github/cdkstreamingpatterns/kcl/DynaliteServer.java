package io.github.cdkstreamingpatterns.kcl;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * dynalite (DynamoDB API, in memory) from the repository's node_modules on a free loopback port, for one test class.
 * Tables leave CREATING after 50 ms instead of dynalite's 500, so the KCL's three tables come up quickly. A missing
 * package fails the tests.
 */
final class DynaliteServer implements BeforeAllCallback, AfterAllCallback {
    private Process process;
    private Path log;
    private int port;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Path cli = locate();
        port = freePort();
        log = Files.createTempFile("dynalite-" + port + "-", ".log");
        List<String> cmd = List.of(
                "node",
                cli.toString(),
                "--port",
                Integer.toString(port),
                "--host",
                "127.0.0.1",
                "--createTableMs",
                "50",
                "--updateTableMs",
                "50",
                "--deleteTableMs",
                "50");
        process = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!answers()) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "dynalite exited with " + process.exitValue() + ": " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                afterAll(context);
                throw new IllegalStateException("dynalite did not open port " + port + " within 30 s");
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        process = null;
        Files.deleteIfExists(log);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** dynalite accepts any credentials; static ones keep the clients off the machine's credential chain. */
    static final StaticCredentialsProvider CREDENTIALS =
            StaticCredentialsProvider.create(AwsBasicCredentials.create("000000000000", "local-secret"));

    DynamoDbClient client() {
        return DynamoDbClient.builder()
                .region(Region.US_EAST_1)
                .credentialsProvider(CREDENTIALS)
                .endpointOverride(endpoint())
                .build();
    }

    DynamoDbAsyncClient asyncClient() {
        return DynamoDbAsyncClient.builder()
                .region(Region.US_EAST_1)
                .credentialsProvider(CREDENTIALS)
                .endpointOverride(endpoint())
                .build();
    }

    private boolean answers() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Path locate() throws IOException {
        for (Path dir = new File(System.getProperty("user.dir"))
                        .getAbsoluteFile()
                        .toPath();
                dir != null;
                dir = dir.getParent()) {
            Path cli = dir.resolve("node_modules").resolve("dynalite").resolve("cli.js");
            if (Files.isRegularFile(cli)) {
                return cli;
            }
        }
        throw new IOException("node_modules/dynalite not found above " + System.getProperty("user.dir")
                + "; run `npm ci` at the repository root");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
