package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.Serializable;
import java.net.URI;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The module definition ({@code StatefulFunctions.module.json}): remote functions, ingress routing from event type to
 * function type, and egress names. Validated once at job construction so a bad module fails the deployment, not the
 * first record.
 */
public final class ModuleDefinition implements Serializable {
    private static final long serialVersionUID = 1L;

    /** A remote function endpoint. */
    public static final class FunctionSpec implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String type;
        private final URI endpoint;
        private final long timeoutMs;
        private final int maxAttempts;

        FunctionSpec(String type, URI endpoint, long timeoutMs, int maxAttempts) {
            this.type = type;
            this.endpoint = endpoint;
            this.timeoutMs = timeoutMs;
            this.maxAttempts = maxAttempts;
        }

        public String type() {
            return type;
        }

        public URI endpoint() {
            return endpoint;
        }

        public long timeoutMs() {
            return timeoutMs;
        }

        public int maxAttempts() {
            return maxAttempts;
        }
    }

    private final Map<String, FunctionSpec> functions;
    private final Map<String, String> ingress;
    private final Map<String, String> egressStreamArns;

    private ModuleDefinition(
            Map<String, FunctionSpec> functions, Map<String, String> ingress, Map<String, String> egressStreamArns) {
        this.functions = Collections.unmodifiableMap(functions);
        this.ingress = Collections.unmodifiableMap(ingress);
        this.egressStreamArns = Collections.unmodifiableMap(egressStreamArns);
    }

    /**
     * Parses module.json.
     *
     * @param defaultTimeoutMs used for functions without {@code timeoutMs} ({@code request.timeout.ms})
     */
    public static ModuleDefinition parse(String json, long defaultTimeoutMs) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("module.json is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("module.json must be a JSON object");
        }
        Map<String, FunctionSpec> functions = new LinkedHashMap<>();
        JsonNode fns = root.path("functions");
        if (!fns.isObject() || fns.isEmpty()) {
            throw new IllegalArgumentException("module.json: 'functions' must be a non-empty object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = fns.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String type = entry.getKey();
            JsonNode fn = entry.getValue();
            if (type.isEmpty() || type.indexOf('/') >= 0) {
                throw new IllegalArgumentException("module.json: function type must be non-empty without '/': " + type);
            }
            String endpoint = Json.nonEmptyText(fn, "endpoint");
            if (endpoint == null) {
                throw new IllegalArgumentException("module.json: function '" + type + "' needs an 'endpoint'");
            }
            URI uri = URI.create(endpoint);
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
                throw new IllegalArgumentException(
                        "module.json: function '" + type + "' endpoint must be http(s): " + endpoint);
            }
            long timeoutMs = fn.has("timeoutMs") ? fn.get("timeoutMs").asLong() : defaultTimeoutMs;
            int maxAttempts = fn.has("maxAttempts") ? fn.get("maxAttempts").asInt() : 5;
            if (timeoutMs <= 0) {
                throw new IllegalArgumentException(
                        "module.json: function '" + type + "' timeoutMs must be > 0, got " + timeoutMs);
            }
            if (maxAttempts < 1) {
                throw new IllegalArgumentException(
                        "module.json: function '" + type + "' maxAttempts must be >= 1, got " + maxAttempts);
            }
            functions.put(type, new FunctionSpec(type, uri, timeoutMs, maxAttempts));
        }
        Map<String, String> ingress = new LinkedHashMap<>();
        JsonNode routes = root.path("ingress");
        if (!routes.isMissingNode() && !routes.isArray()) {
            throw new IllegalArgumentException("module.json: 'ingress' must be an array");
        }
        for (JsonNode route : routes) {
            String eventType = Json.nonEmptyText(route, "eventType");
            String functionType = Json.nonEmptyText(route, "functionType");
            if (eventType == null || functionType == null) {
                throw new IllegalArgumentException(
                        "module.json: ingress entries need 'eventType' and 'functionType': " + route);
            }
            if (!functions.containsKey(functionType)) {
                throw new IllegalArgumentException("module.json: ingress for '" + eventType
                        + "' targets unknown function type '" + functionType + "'");
            }
            String previous = ingress.put(eventType, functionType);
            if (previous != null && !previous.equals(functionType)) {
                throw new IllegalArgumentException("module.json: event type '" + eventType + "' is routed to both '"
                        + previous + "' and '" + functionType + "'");
            }
        }
        Map<String, String> egress = new LinkedHashMap<>();
        JsonNode egresses = root.path("egress");
        if (!egresses.isMissingNode() && !egresses.isObject()) {
            throw new IllegalArgumentException("module.json: 'egress' must be an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = egresses.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            egress.put(entry.getKey(), Json.nonEmptyText(entry.getValue(), "streamArn"));
        }
        return new ModuleDefinition(functions, ingress, egress);
    }

    public Optional<FunctionSpec> function(String type) {
        return Optional.ofNullable(functions.get(type));
    }

    public Map<String, FunctionSpec> functions() {
        return functions;
    }

    /** Function type that receives events of this type, if routed. */
    public Optional<String> routeIngress(String eventType) {
        return Optional.ofNullable(ingress.get(eventType));
    }

    public Map<String, String> ingressRoutes() {
        return ingress;
    }

    /** Egress names to the stream ARN given in module.json (may be null; the Egress.&lt;name&gt; group wins). */
    public Map<String, String> egress() {
        return egressStreamArns;
    }
}
