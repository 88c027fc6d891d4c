package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * s3rver is not installed in /work/main/node_modules, so the S3 target is checked against a minimal local HTTP
 * endpoint that records the PutObject request (path-style URL, plain body) and answers like S3.
 */
class S3StateExportWriterTest {
    record Put(String method, String path, String body) {}

    private HttpServer server;
    private final List<Put> puts = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                puts.add(new Put(
                        exchange.getRequestMethod(),
                        exchange.getRequestURI().getPath(),
                        new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
                exchange.getResponseHeaders().set("ETag", "\"0\"");
                exchange.sendResponseHeaders(200, -1);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void putsJsonLinesAtThePrefixedKeyUsingPathStyle() throws Exception {
        Properties props = new Properties();
        props.setProperty("s3.bucket", "statefun-state");
        props.setProperty("s3.prefix", "/exports/");
        props.setProperty(
                "s3.endpoint", "http://127.0.0.1:" + server.getAddress().getPort());
        props.setProperty("s3.path.style", "true");
        StateExportConfig config = StateExportConfig.fromProperties(props);
        String lines =
                "{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"stateVersion\":3,\"state\":{\"status\":\"PENDING\"}}\n";

        try (S3StateExportWriter writer = S3StateExportWriter.create(
                config, StaticCredentialsProvider.create(AwsBasicCredentials.create("S3RVER", "S3RVER")))) {
            writer.write(config.objectKey(1764403200000L, 2), lines.getBytes(StandardCharsets.UTF_8));
        }

        assertThat(puts)
                .containsExactly(new Put("PUT", "/statefun-state/exports/1764403200000/subtask-2.jsonl", lines));
        assertThat(config.intervalMs()).isEqualTo(300_000);
    }

    @Test
    void exportIsOffWithoutABucket() {
        assertThat(StateExportConfig.fromProperties(new Properties())).isNull();
        assertThat(StateExportConfig.fromProperties(null)).isNull();
    }
}
