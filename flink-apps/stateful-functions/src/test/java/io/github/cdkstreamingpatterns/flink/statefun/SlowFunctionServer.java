package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

/**
 * A remote function on 127.0.0.1 that answers every call after a fixed latency, speaking the runtime's protocol
 * ({@code lambda/functions/sdk/protocol.ts}): it counts the messages into the state ({@code {"n": applied}}) and
 * sends nothing else. The latency is a scheduled reply, not a sleeping thread, so a thousand concurrent calls do not
 * need a thousand threads. It checks what the runtime promises: never two calls at once for one address, and every
 * address's messages in the order they were produced (payload {@code i} increasing) and each once.
 */
final class SlowFunctionServer implements AutoCloseable {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService handlers;
    private final ScheduledExecutorService replies;
    private final long latencyMs;

    private volatile Stats current = new Stats(n -> {});

    /** What the function saw in one run; calls of an earlier run that answer late count there, not here. */
    static final class Stats {
        private final AtomicLong calls = new AtomicLong();
        private final AtomicLong messages = new AtomicLong();
        private final AtomicLong violations = new AtomicLong();
        private final Map<String, AtomicInteger> inProgress = new ConcurrentHashMap<>();
        private final Map<String, Long> lastIndex = new ConcurrentHashMap<>();
        private final IntConsumer onAnswered;
        private volatile String firstViolation;

        private Stats(IntConsumer onAnswered) {
            this.onAnswered = onAnswered;
        }

        long calls() {
            return calls.get();
        }

        long messages() {
            return messages.get();
        }

        long violations() {
            return violations.get();
        }

        String firstViolation() {
            return firstViolation;
        }

        private void violation(String what) {
            violations.incrementAndGet();
            if (firstViolation == null) {
                firstViolation = what;
            }
        }
    }

    SlowFunctionServer(long latencyMs) throws IOException {
        this.latencyMs = latencyMs;
        // A large accept backlog: a thousand addresses open their connections at once.
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4096);
        handlers = Executors.newFixedThreadPool(2, daemon("bench-fn-handler"));
        replies = Executors.newScheduledThreadPool(1, daemon("bench-fn-reply"));
        server.setExecutor(handlers);
        server.createContext("/fn/", this::serve);
        server.start();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    String endpoint(String type) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/fn/" + type;
    }

    /** Starts counting and checking a new run; {@code answered} gets the message count of every reply. */
    Stats reset(IntConsumer answered) {
        Stats stats = new Stats(answered);
        current = stats;
        return stats;
    }

    private void serve(HttpExchange exchange) throws IOException {
        Stats st = current;
        JsonNode request;
        try {
            request = MAPPER.readTree(exchange.getRequestBody().readAllBytes());
        } catch (IOException e) {
            reply(exchange, 400, "{\"error\":\"request body is not JSON\"}");
            return;
        }
        String address = request.at("/address/type").asText() + "/"
                + request.at("/address/id").asText();
        JsonNode batch = request.get("messages");
        long stateN = request.at("/state/n").asLong(0);
        if (request.get("stateVersion").asLong() == 0 && stateN != 0) {
            st.violation(address + ": stateVersion 0 with state " + request.get("state"));
        }
        AtomicInteger running = st.inProgress.computeIfAbsent(address, k -> new AtomicInteger());
        if (running.incrementAndGet() > 1) {
            st.violation(address + ": two calls at once");
        }
        Long last = st.lastIndex.get(address);
        long previous = last == null ? -1 : last;
        for (JsonNode message : batch) {
            long i = message.at("/payload/i").asLong();
            if (i <= previous) {
                st.violation(address + ": message " + i + " after " + previous);
            }
            previous = i;
        }
        st.lastIndex.put(address, previous);
        int count = batch.size();
        ObjectNode response = MAPPER.createObjectNode();
        response.putObject("state").put("n", stateN + count);
        response.putArray("messages");
        response.putArray("egress");
        response.putArray("rejected");
        String body = response.toString();
        replies.schedule(
                () -> {
                    running.decrementAndGet();
                    st.calls.incrementAndGet();
                    st.messages.addAndGet(count);
                    try {
                        reply(exchange, 200, body);
                    } catch (IOException e) {
                        // The runtime timed out or was cancelled; it retries or re-sends on its own.
                    }
                    st.onAnswered.accept(count);
                },
                latencyMs,
                TimeUnit.MILLISECONDS);
    }

    private static void reply(HttpExchange exchange, int status, String text) throws IOException {
        try (exchange) {
            byte[] body = text.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        replies.shutdownNow();
        handlers.shutdownNow();
    }
}
