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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RemoteFunctionClientTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private final ExecutorService serverThreads = Executors.newFixedThreadPool(2);
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicReference<String> contentType = new AtomicReference<>();
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
        server.createContext("/status", exchange -> {
            requests.incrementAndGet();
            contentType.set(exchange.getRequestHeaders().getFirst("Content-Type"));
            exchange.getRequestBody().readAllBytes();
            reply(exchange, 503, "{\"error\":\"cold start\"}");
        });
        server.createContext("/redirect", exchange -> {
            requests.incrementAndGet();
            exchange.getResponseHeaders().set("Location", "/status");
            reply(exchange, 302, "");
        });
        server.createContext("/garbage", exchange -> reply(exchange, 200, "{\"state\":"));
        server.createContext("/ok", exchange -> {
            contentType.set(exchange.getRequestHeaders().getFirst("Content-Type"));
            reply(exchange, 200, "{\"state\":{\"n\":1},\"messages\":[],\"egress\":[],\"rejected\":[]}");
        });
        server.start();
    }

    private static void reply(com.sun.net.httpserver.HttpExchange exchange, int status, String body)
            throws java.io.IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private InvocationOutcome call(String path) throws Exception {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
        try (RemoteFunctionClient client = new RemoteFunctionClient(2, 2, null)) {
            return client.invoke(
                            new ModuleDefinition.FunctionSpec("fn", endpoint, 5000, 1),
                            "{}".getBytes(StandardCharsets.UTF_8))
                    .get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aValidAnswerIsASuccessAndTheBodyGoesAsPlainApplicationJson() throws Exception {
        InvocationOutcome outcome = call("/ok");

        assertThat(outcome.succeeded()).isTrue();
        // Exactly what a signer signs: no charset appended by the client.
        assertThat(contentType.get()).isEqualTo("application/json");
    }

    @Test
    void aNon2xxStatusIsOneFailedAttemptWithTheStatusAndBodyAndIsNotRetriedByTheClient() throws Exception {
        InvocationOutcome outcome = call("/status");

        assertThat(outcome.succeeded()).isFalse();
        assertThat(outcome.failureReason).isEqualTo(DeadLetters.HTTP_STATUS);
        assertThat(outcome.failureDetail).isEqualTo("HTTP 503: {\"error\":\"cold start\"}");
        // The dispatcher retries with backoff and counts attempts; the client must not add attempts of its own.
        assertThat(requests.get()).isEqualTo(1);
    }

    @Test
    void aRedirectIsNotFollowed() throws Exception {
        InvocationOutcome outcome = call("/redirect");

        assertThat(outcome.failureReason).isEqualTo(DeadLetters.HTTP_STATUS);
        assertThat(outcome.failureDetail).startsWith("HTTP 302");
        assertThat(requests.get()).isEqualTo(1);
    }

    @Test
    void aBodyThatIsNotAResponseIsInvalidResponse() throws Exception {
        assertThat(call("/garbage").failureReason).isEqualTo(DeadLetters.INVALID_RESPONSE);
    }

    @Test
    void aClosedPortIsUnreachable() throws Exception {
        int port;
        try (java.net.ServerSocket socket =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = socket.getLocalPort();
        }
        URI endpoint = URI.create("http://127.0.0.1:" + port + "/fn");
        try (RemoteFunctionClient client = new RemoteFunctionClient(2, 2, null)) {
            InvocationOutcome outcome = client.invoke(
                            new ModuleDefinition.FunctionSpec("fn", endpoint, 5000, 1),
                            "{}".getBytes(StandardCharsets.UTF_8))
                    .get(30, TimeUnit.SECONDS);

            assertThat(outcome.failureReason).isEqualTo(DeadLetters.UNREACHABLE);
        }
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
        try (RemoteFunctionClient client = new RemoteFunctionClient(2, 2, null)) {
            // The bound only keeps a broken build from hanging; the client must give up after ~300 ms.
            InvocationOutcome outcome =
                    client.invoke(spec, "{}".getBytes(StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS);

            assertThat(outcome.succeeded()).isFalse();
            assertThat(outcome.failureReason).isEqualTo(DeadLetters.TIMEOUT);
        }
    }
}
