package io.github.cdkstreamingpatterns.flink.kinesis.sink;

import io.github.cdkstreamingpatterns.flink.common.Backoff;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisErrors;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisSinkException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.base.sink.writer.AsyncSinkWriter;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import org.apache.flink.connector.base.sink.writer.ResultHandler;
import org.apache.flink.connector.base.sink.writer.config.AsyncSinkWriterConfiguration;
import org.apache.flink.metrics.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;

/**
 * Sends batches with PutRecords. Entries Kinesis rejects individually (throttling, internal failure) are retried
 * on their own; a request that fails as a whole is retried after a jittered backoff unless the error can never
 * succeed (missing stream, access denied, KMS key unusable, invalid argument), which fails the job.
 */
@Internal
public final class KinesisStreamSinkWriter<T> extends AsyncSinkWriter<T, PutRecordsRequestEntry> {
    private static final Logger LOG = LoggerFactory.getLogger(KinesisStreamSinkWriter.class);
    private static final long MAX_RETRY_DELAY_MILLIS = 5_000L;
    private static final Backoff RETRY_BACKOFF = Backoff.equalJitter(100L, MAX_RETRY_DELAY_MILLIS);

    private final KinesisAsyncClient client;
    private final String streamArn;
    private final Counter sendErrors;
    // Consecutive whole-request failures; only touched from SDK callback threads, hence volatile.
    private volatile int consecutiveFailures;

    public KinesisStreamSinkWriter(
            ElementConverter<T, PutRecordsRequestEntry> elementConverter,
            WriterInitContext context,
            AsyncSinkWriterConfiguration configuration,
            Collection<BufferedRequestState<PutRecordsRequestEntry>> states,
            KinesisClientConfig clientConfig,
            int maxInFlightRequests) {
        super(elementConverter, context, configuration, states);
        this.client = clientConfig.buildAsyncClient(maxInFlightRequests);
        this.streamArn = clientConfig.streamArn();
        this.sendErrors = context.metricGroup().getNumRecordsSendErrorsCounter();
    }

    @Override
    protected void submitRequestEntries(
            List<PutRecordsRequestEntry> entries, ResultHandler<PutRecordsRequestEntry> resultHandler) {
        PutRecordsRequest request = PutRecordsRequest.builder()
                .streamARN(streamArn)
                .records(entries)
                .build();
        client.putRecords(request).whenComplete((response, error) -> {
            if (error != null) {
                handleRequestFailure(entries, resultHandler, error);
            } else {
                handleResponse(entries, resultHandler, response);
            }
        });
    }

    private void handleResponse(
            List<PutRecordsRequestEntry> entries,
            ResultHandler<PutRecordsRequestEntry> resultHandler,
            PutRecordsResponse response) {
        consecutiveFailures = 0;
        Integer failedCount = response.failedRecordCount();
        if (failedCount == null || failedCount == 0) {
            resultHandler.complete();
            return;
        }
        List<PutRecordsRequestEntry> retry = failedEntries(entries, response);
        String firstError = response.records().stream()
                .filter(r -> r.errorCode() != null)
                .findFirst()
                .map(r -> r.errorCode() + ": " + r.errorMessage())
                .orElse("?");
        sendErrors.inc(retry.size());
        LOG.debug(
                "{} of {} records rejected by {} ({}); retrying them",
                retry.size(),
                entries.size(),
                streamArn,
                firstError);
        resultHandler.retryForEntries(retry);
    }

    /** The entries Kinesis rejected individually; results are positional (result i belongs to entry i). */
    static List<PutRecordsRequestEntry> failedEntries(
            List<PutRecordsRequestEntry> entries, PutRecordsResponse response) {
        List<PutRecordsResultEntry> results = response.records();
        if (results.size() != entries.size()) {
            // Cannot map results to entries; resending all is safe under at-least-once.
            return entries;
        }
        List<PutRecordsRequestEntry> failed = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i).errorCode() != null) {
                failed.add(entries.get(i));
            }
        }
        return failed;
    }

    private void handleRequestFailure(
            List<PutRecordsRequestEntry> entries,
            ResultHandler<PutRecordsRequestEntry> resultHandler,
            Throwable error) {
        Throwable cause = KinesisErrors.unwrap(error);
        sendErrors.inc(entries.size());
        if (KinesisErrors.isFatal(cause)) {
            resultHandler.completeExceptionally(new KinesisSinkException(
                    "Writing to Kinesis stream " + streamArn + " failed permanently ("
                            + cause.getClass().getSimpleName() + "): " + cause.getMessage(),
                    cause));
            return;
        }
        int attempt = ++consecutiveFailures;
        long delay = retryDelayMillis(attempt);
        LOG.warn(
                "PutRecords of {} records to {} failed ({}); retrying in {} ms",
                entries.size(),
                streamArn,
                cause.toString(),
                delay);
        // The in-flight slot stays taken during the delay, which throttles this writer while Kinesis is struggling.
        CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS)
                .execute(() -> resultHandler.retryForEntries(entries));
    }

    static long retryDelayMillis(int attempt) {
        return RETRY_BACKOFF.delayMillis(attempt);
    }

    @Override
    protected long getSizeInBytes(PutRecordsRequestEntry entry) {
        // Kinesis counts data plus partition key against the 1 MiB record and 5 MiB request limits.
        return entry.data().asByteArrayUnsafe().length
                + (long) entry.partitionKey().getBytes(StandardCharsets.UTF_8).length;
    }

    @Override
    public void close() {
        super.close();
        client.close();
    }
}
