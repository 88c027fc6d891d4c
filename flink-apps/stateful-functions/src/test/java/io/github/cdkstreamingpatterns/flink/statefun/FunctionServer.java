package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on 127.0.0.1 (free port) hosting remote functions for the tests. It records every call and
 * detects overlapping calls for the same address, which the runtime must never make.
 */
final class FunctionServer implements AutoCloseable {
    static final ObjectMapper MAPPER = new ObjectMapper();

    /** One received invocation. */
    record Call(
            String type,
            String id,
            long stateVersion,
            JsonNode state,
            List<JsonNode> messages,
            Map<String, List<String>> headers,
            byte[] body) {
        String address() {
            return type + "/" + id;
        }
    }

    /** HTTP reply: status and body. */
    record Reply(int status, String body) {
        static Reply ok(ObjectNode body) {
            return new Reply(200, body.toString());
        }
    }

    interface Handler {
        Reply handle(Call call) throws Exception;
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(16);
    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    private final Map<String, AtomicInteger> inProgress = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> overlaps = new ConcurrentLinkedQueue<>();

    FunctionServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(executor);
        server.createContext("/fn/", this::serve);
        server.start();
    }

    FunctionServer route(String type, Handler handler) {
        handlers.put(type, handler);
        return this;
    }

    String endpoint(String type) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/fn/" + type;
    }

    List<Call> calls() {
        return new ArrayList<>(calls);
    }

    List<Call> calls(String address) {
        return calls.stream().filter(c -> c.address().equals(address)).toList();
    }

    /** Addresses that received a call while another call for them was still running. */
    List<String> overlaps() {
        return new ArrayList<>(overlaps);
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            String type = exchange.getRequestURI().getPath().substring("/fn/".length());
            Handler handler = handlers.get(type);
            if (handler == null || !"POST".equals(exchange.getRequestMethod())) {
                respond(exchange, new Reply(404, "{\"error\":\"no such function\"}"));
                return;
            }
            byte[] body = exchange.getRequestBody().readAllBytes();
            JsonNode request = MAPPER.readTree(body);
            List<JsonNode> messages = new ArrayList<>();
            request.get("messages").forEach(messages::add);
            JsonNode state = request.get("state");
            Call call = new Call(
                    request.at("/address/type").asText(),
                    request.at("/address/id").asText(),
                    request.get("stateVersion").asLong(),
                    state == null || state.isNull() ? null : state,
                    messages,
                    Map.copyOf(exchange.getRequestHeaders()),
                    body);
            calls.add(call);
            AtomicInteger running = inProgress.computeIfAbsent(call.address(), k -> new AtomicInteger());
            if (running.incrementAndGet() > 1) {
                overlaps.add(call.address());
            }
            try {
                respond(exchange, handler.handle(call));
            } finally {
                running.decrementAndGet();
            }
        } catch (Exception e) {
            respond(exchange, new Reply(500, "{\"error\":\"" + e.getClass().getSimpleName() + "\"}"));
        }
    }

    private static void respond(HttpExchange exchange, Reply reply) throws IOException {
        byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(reply.status(), body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // ---- helpers to build responses ----

    static ObjectNode response(JsonNode state) {
        ObjectNode node = MAPPER.createObjectNode();
        node.set("state", state);
        node.putArray("messages");
        node.putArray("egress");
        node.putArray("rejected");
        return node;
    }

    static void send(ObjectNode response, String toType, String toId, String type, ObjectNode payload) {
        ObjectNode m = ((ArrayNode) response.get("messages")).addObject();
        m.putObject("to").put("type", toType).put("id", toId);
        m.put("type", type);
        m.set("payload", payload);
    }

    static void egress(ObjectNode response, String egress, String partitionKey, String type, ObjectNode payload) {
        ObjectNode e = ((ArrayNode) response.get("egress")).addObject();
        e.put("egress", egress);
        e.put("partitionKey", partitionKey);
        e.put("type", type);
        e.set("payload", payload);
    }

    static void reject(ObjectNode response, String messageId, String reason) {
        ((ArrayNode) response.get("rejected"))
                .addObject()
                .put("messageId", messageId)
                .put("reason", reason);
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
