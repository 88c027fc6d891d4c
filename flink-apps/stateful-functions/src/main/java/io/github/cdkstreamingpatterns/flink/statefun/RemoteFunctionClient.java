package io.github.cdkstreamingpatterns.flink.statefun;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Calls remote functions with {@link HttpClient} asynchronously. Every call completes normally with an
 * {@link InvocationOutcome}: 2xx with a valid body is a success; any other status, a timeout, a connection error or
 * an invalid body is a failure carrying its dead-letter reason. Response parsing and request signing run on the
 * client's worker threads, never on the Flink task thread.
 */
final class RemoteFunctionClient implements AutoCloseable {
    // The JDK client sets these itself and refuses them as user headers.
    private static final Set<String> RESTRICTED_HEADERS =
            Set.of("host", "content-length", "connection", "expect", "upgrade");
    private static final int MAX_DETAIL_BODY_CHARS = 256;

    private final ExecutorService executor;
    private final HttpClient client;
    private final RequestSigner signer;

    RemoteFunctionClient(int threads, RequestSigner signer) {
        AtomicInteger counter = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "statefun-http-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.client = HttpClient.newBuilder()
                .executor(executor)
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        this.signer = signer;
    }

    CompletableFuture<InvocationOutcome> invoke(ModuleDefinition.FunctionSpec spec, byte[] body) {
        AtomicReference<CompletableFuture<HttpResponse<byte[]>>> send = new AtomicReference<>();
        return CompletableFuture.supplyAsync(() -> buildRequest(spec, body), executor)
                .thenCompose(request -> {
                    CompletableFuture<HttpResponse<byte[]>> call =
                            client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
                    send.set(call);
                    return call;
                })
                // HttpRequest.timeout only bounds the wait for the response headers; a body that stalls afterwards
                // would
                // never complete and would hold the address (and a concurrency slot) forever. This bounds the whole
                // call.
                .orTimeout(spec.timeoutMs(), TimeUnit.MILLISECONDS)
                .whenComplete((response, error) -> {
                    CompletableFuture<HttpResponse<byte[]>> call = send.get();
                    if (error != null && call != null && !call.isDone()) {
                        call.cancel(true);
                    }
                })
                .thenApply(RemoteFunctionClient::toOutcome)
                .exceptionally(RemoteFunctionClient::failureOutcome);
    }

    private HttpRequest buildRequest(ModuleDefinition.FunctionSpec spec, byte[] body) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put("Content-Type", List.of("application/json"));
        if (signer != null) {
            headers = signer.sign(spec.endpoint(), headers, body);
        }
        HttpRequest.Builder builder = HttpRequest.newBuilder(spec.endpoint())
                .timeout(Duration.ofMillis(spec.timeoutMs()))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach((name, values) -> {
            if (!RESTRICTED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
                values.forEach(v -> builder.header(name, v));
            }
        });
        return builder.build();
    }

    static InvocationOutcome toOutcome(HttpResponse<byte[]> response) {
        int status = response.statusCode();
        if (status < 200 || status > 299) {
            String text = DeadLetters.payloadText(response.body() == null ? new byte[0] : response.body());
            if (text.length() > MAX_DETAIL_BODY_CHARS) {
                text = text.substring(0, MAX_DETAIL_BODY_CHARS) + "...";
            }
            return InvocationOutcome.failure(DeadLetters.HTTP_STATUS, "HTTP " + status + ": " + text);
        }
        try {
            return InvocationOutcome.success(FunctionResponse.parse(response.body()));
        } catch (IllegalArgumentException e) {
            return InvocationOutcome.failure(DeadLetters.INVALID_RESPONSE, e.getMessage());
        }
    }

    static InvocationOutcome failureOutcome(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof HttpTimeoutException || cause instanceof TimeoutException) {
            String detail = cause.getMessage() == null
                    ? "no complete response within the function's timeoutMs"
                    : cause.getMessage();
            return InvocationOutcome.failure(DeadLetters.TIMEOUT, "request timed out: " + detail);
        }
        if (cause instanceof ConnectException || cause instanceof IOException) {
            return InvocationOutcome.failure(
                    DeadLetters.UNREACHABLE, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
        // Signing/credential errors and anything unexpected: still a failed attempt, retried like the others.
        return InvocationOutcome.failure(
                DeadLetters.UNREACHABLE, cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
