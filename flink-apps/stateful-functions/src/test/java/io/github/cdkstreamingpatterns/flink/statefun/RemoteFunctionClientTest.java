package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RemoteFunctionClientTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private final ExecutorService serverThreads = Executors.newFixedThreadPool(2);
    private HttpServer server;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(serverThreads);
        // Answers with headers and part of the body, then stalls: a proxy or function that hangs mid-response.
        server.createContext("/stall", exchange -> {
            exchange.sendResponseHeaders(200, 100);
            OutputStream out = exchange.getResponseBody();
            out.write("{\"state\":".getBytes(StandardCharsets.UTF_8));
            out.flush();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
        serverThreads.shutdownNow();
    }

    @Test
    void aResponseThatStallsAfterItsHeadersEndsAsATimeoutInsteadOfHoldingTheAddressForever() throws Exception {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/stall");
        ModuleDefinition.FunctionSpec spec = new ModuleDefinition.FunctionSpec("stall", endpoint, 300, 1);
        try (RemoteFunctionClient client = new RemoteFunctionClient(2, null)) {
            // The bound only keeps a broken build from hanging; the client must give up after ~300 ms.
            InvocationOutcome outcome =
                    client.invoke(spec, "{}".getBytes(StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS);

            assertThat(outcome.succeeded()).isFalse();
            assertThat(outcome.failureReason).isEqualTo(DeadLetters.TIMEOUT);
        }
    }
}
