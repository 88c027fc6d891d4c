package io.github.cdkstreamingpatterns.flink.statefun;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hc.client5.http.async.methods.SimpleHttpRequest;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.config.TlsConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Method;
import org.apache.hc.core5.http2.HttpVersionPolicy;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.reactor.IOReactorConfig;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * Calls remote functions over HTTP/1.1 asynchronously. Every call completes normally with an
 * {@link InvocationOutcome}: 2xx with a valid body is a success; any other status, a timeout, a connection error or
 * an invalid body is a failure carrying its dead-letter reason. Response parsing and request signing run on the
 * client's worker threads, never on the Flink task thread.
 *
 * <p><b>Why Apache HttpClient 5 (async) and not {@code java.net.http.HttpClient}.</b> With slow functions the runtime
 * is throughput-bound by the CPU each call costs, because hundreds of calls are in flight per subtask. The JDK client
 * hands every exchange through about ten executor tasks; measured on the same loopback server, it cost ~3× the CPU per
 * call of this client (one I/O reactor thread that writes, reads and completes the exchange, then one hop to a worker
 * for parsing), which capped a subtask at ~1,300 calls/s on two loaded cores (bench row
 * {@code statefun-concurrency}). The library is already in the job jar (the S3 export's SDK brings it). The client
 * keeps the JDK client's behaviour: no automatic retries (the dispatcher retries with backoff and counts attempts),
 * no redirects, no cookies, HTTP/1.1 only, a 10 s connect timeout, and a bound on the whole call.
 */
final class RemoteFunctionClient implements AutoCloseable {
    // The client sets these itself; a signed Host header has the value the client sends (the URI's authority).
    private static final Set<String> RESTRICTED_HEADERS =
            Set.of("host", "content-length", "connection", "expect", "upgrade", "transfer-encoding");
    private static final int MAX_DETAIL_BODY_CHARS = 256;
    private static final String CONTENT_TYPE = "Content-Type";
    private static final String JSON = "application/json";

    private final ExecutorService executor;
    private final CloseableHttpAsyncClient client;
    private final RequestSigner signer;

    /**
     * @param maxConnections most pooled connections (the dispatcher has at most {@code max.concurrent.calls} calls
     *     in flight; a little more lets a new call start while a timed-out call's connection is still closing)
     * @param workerThreads threads that sign requests and parse responses
     */
    RemoteFunctionClient(int maxConnections, int workerThreads, RequestSigner signer) {
        AtomicInteger counter = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(workerThreads, r -> {
            Thread t = new Thread(r, "statefun-http-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.client = HttpAsyncClients.custom()
                .setIOReactorConfig(IOReactorConfig.custom()
                        .setIoThreadCount(1)
                        .setTcpNoDelay(true)
                        .build())
                .setConnectionManager(PoolingAsyncClientConnectionManagerBuilder.create()
                        .setMaxConnTotal(maxConnections)
                        .setMaxConnPerRoute(maxConnections)
                        .setDefaultConnectionConfig(ConnectionConfig.custom()
                                .setConnectTimeout(Timeout.ofSeconds(10))
                                // A pooled connection idle for a second is checked before reuse: a function behind
                                // a load balancer may have closed it, and the call must not fail for that.
                                .setValidateAfterInactivity(TimeValue.ofSeconds(1))
                                .build())
                        .setDefaultTlsConfig(TlsConfig.custom()
                                .setVersionPolicy(HttpVersionPolicy.FORCE_HTTP_1)
                                .build())
                        .build())
                .disableAutomaticRetries()
                .disableRedirectHandling()
                .disableCookieManagement()
                .disableAuthCaching()
                .disableConnectionState()
                .disableContentCompression()
                .evictIdleConnections(TimeValue.ofSeconds(60))
                .build();
        this.client.start();
        this.signer = signer;
    }

    CompletableFuture<InvocationOutcome> invoke(ModuleDefinition.FunctionSpec spec, byte[] body) {
        AtomicReference<Future<SimpleHttpResponse>> send = new AtomicReference<>();
        // Unsigned requests are cheap to build: no hop to a worker. Signing (SHA-256, HMAC) stays off the task thread.
        CompletableFuture<SimpleHttpRequest> built;
        if (signer == null) {
            try {
                built = CompletableFuture.completedFuture(buildRequest(spec, body));
            } catch (RuntimeException e) {
                built = CompletableFuture.failedFuture(e);
            }
        } else {
            built = CompletableFuture.supplyAsync(() -> buildRequest(spec, body), executor);
        }
        return built.thenCompose(request -> {
                    CompletableFuture<SimpleHttpResponse> call = new CompletableFuture<>();
                    send.set(client.execute(request, new FutureCallback<>() {
                        @Override
                        public void completed(SimpleHttpResponse response) {
                            call.complete(response);
                        }

                        @Override
                        public void failed(Exception error) {
                            call.completeExceptionally(error);
                        }

                        @Override
                        public void cancelled() {
                            call.cancel(false);
                        }
                    }));
                    return call;
                })
                // The response timeout only bounds the wait between packets; a body that trickles would hold the
                // address (and a concurrency slot) far longer. This bounds the whole call.
                .orTimeout(spec.timeoutMs(), TimeUnit.MILLISECONDS)
                .whenComplete((response, error) -> {
                    Future<SimpleHttpResponse> call = send.get();
                    if (error != null && call != null && !call.isDone()) {
                        // Closes the connection: a half-read response cannot be reused.
                        call.cancel(true);
                    }
                })
                // Parsed on a worker, not on the I/O thread that serves every other call.
                .thenApplyAsync(RemoteFunctionClient::toOutcome, executor)
                .exceptionally(RemoteFunctionClient::failureOutcome);
    }

    private SimpleHttpRequest buildRequest(ModuleDefinition.FunctionSpec spec, byte[] body) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        headers.put(CONTENT_TYPE, List.of(JSON));
        if (signer != null) {
            headers = signer.sign(spec.endpoint(), headers, body);
        }
        URI endpoint = spec.endpoint();
        SimpleHttpRequest request = SimpleHttpRequest.create(Method.POST, endpoint);
        request.setConfig(RequestConfig.custom()
                .setResponseTimeout(Timeout.ofMilliseconds(spec.timeoutMs()))
                // Not the 3-minute default: a call waiting for a connection is still bounded by timeoutMs.
                .setConnectionRequestTimeout(Timeout.ofMilliseconds(spec.timeoutMs()))
                .build());
        String contentType = JSON;
        for (Map.Entry<String, List<String>> header : headers.entrySet()) {
            String name = header.getKey().toLowerCase(Locale.ROOT);
            if (name.equals("content-type")) {
                // Sent as the body's type, exactly as signed (no charset added).
                contentType = header.getValue().get(0);
            } else if (!RESTRICTED_HEADERS.contains(name)) {
                header.getValue().forEach(v -> request.addHeader(header.getKey(), v));
            }
        }
        request.setBody(body, ContentType.parse(contentType));
        return request;
    }

    static InvocationOutcome toOutcome(SimpleHttpResponse response) {
        int status = response.getCode();
        byte[] bytes = response.getBodyBytes() == null ? new byte[0] : response.getBodyBytes();
        if (status < 200 || status > 299) {
            String text = DeadLetters.payloadText(bytes);
            if (text.length() > MAX_DETAIL_BODY_CHARS) {
                text = text.substring(0, MAX_DETAIL_BODY_CHARS) + "...";
            }
            return InvocationOutcome.failure(DeadLetters.HTTP_STATUS, "HTTP " + status + ": " + text);
        }
        try {
            return InvocationOutcome.success(FunctionResponse.parse(bytes));
        } catch (IllegalArgumentException e) {
            return InvocationOutcome.failure(DeadLetters.INVALID_RESPONSE, e.getMessage());
        }
    }

    static InvocationOutcome failureOutcome(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        // SocketTimeoutException: the connect timeout and the response timeout (no byte for timeoutMs).
        if (cause instanceof SocketTimeoutException || cause instanceof TimeoutException) {
            String detail = cause.getMessage() == null
                    ? "no complete response within the function's timeoutMs"
                    : cause.getMessage();
            return InvocationOutcome.failure(DeadLetters.TIMEOUT, "request timed out: " + detail);
        }
        if (cause instanceof IOException) {
            return InvocationOutcome.failure(
                    DeadLetters.UNREACHABLE, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
        // Signing/credential errors and anything unexpected: still a failed attempt, retried like the others.
        return InvocationOutcome.failure(
                DeadLetters.UNREACHABLE, cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    @Override
    public void close() {
        // The I/O thread closes its own connections (closing them from this thread races with it and logs errors);
        // calls still in flight fail, and their batches are in the checkpoint.
        client.initiateShutdown();
        try {
            client.awaitShutdown(TimeValue.ofSeconds(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.close(CloseMode.IMMEDIATE);
            executor.shutdownNow();
        }
    }
}
