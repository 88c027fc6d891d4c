package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonGenerator;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Adds device metadata from the reference data and counts late records.
 *
 * <p>Each subtask loads the reference data in {@link #open} and re-reads it every refresh interval on a daemon
 * thread, so the task thread never waits on S3. A failed load keeps the last good copy and increments {@code
 * referenceLoadFailures}; if even the first load fails, records pass through as unknown devices until a refresh
 * succeeds, rather than failing the job.
 *
 * <p>Records behind the current watermark are counted as {@code late} and still enriched and emitted: the
 * downstream consumer windows by processing time, so a late record is still useful there.
 *
 * <p>An enriched record larger than {@link EnrichmentJob#MAX_RECORD_BYTES} (with its partition key) is not emitted:
 * the Kinesis sink would fail the job on it, and the restart would replay it and fail again. The raw record goes to
 * {@link EnrichmentJob#DEAD_LETTERS} with reason {@code RECORD_TOO_LARGE} instead, as received when it was kept
 * ({@link TelemetryRecord#original}), otherwise as validated (the fields the contract defines, re-serialized).
 *
 * <p>Metrics in group {@code enrichment}: {@code enriched} (emitted with metadata), {@code unknownDevice} (emitted
 * with empty metadata and {@code "enriched":false}), {@code invalid} and {@code invalidReason.RECORD_TOO_LARGE}
 * (dead-lettered for size), {@code late}, {@code referenceLoadFailures}, gauges {@code referenceDevices} and {@code
 * referenceInvalidLines}. Every input record is either emitted once or dead-lettered once, so {@code enriched +
 * unknownDevice} equals the records written to the enriched stream.
 */
public class EnrichFunction extends ProcessFunction<TelemetryRecord, EnrichedRecord> {
    private static final long serialVersionUID = 1L;

    private final ReferenceDataLoader loader;
    private final Duration refreshInterval;

    private transient ReferenceDataCache cache;
    private transient ScheduledExecutorService refresher;
    private transient Counter enriched;
    private transient Counter unknownDevice;
    private transient Counter invalid;
    private transient Counter tooLarge;
    private transient Counter late;
    private transient EnrichedRecordSerializationSchema serializer;
    private transient Counter referenceLoadFailures;

    public EnrichFunction(ReferenceDataLoader loader, Duration refreshInterval) {
        this.loader = loader;
        this.refreshInterval = refreshInterval;
    }

    @Override
    public void open(OpenContext openContext) {
        MetricGroup group = EnrichmentJob.metricGroup(getRuntimeContext().getMetricGroup());
        enriched = group.counter("enriched");
        unknownDevice = group.counter("unknownDevice");
        invalid = group.counter("invalid");
        tooLarge = group.addGroup("invalidReason").counter(DeadLetterReason.RECORD_TOO_LARGE.name());
        late = group.counter("late");
        serializer = new EnrichedRecordSerializationSchema();
        // Incremented on the refresher thread.
        referenceLoadFailures = group.counter("referenceLoadFailures", new ThreadSafeSimpleCounter());
        cache = new ReferenceDataCache(loader, referenceLoadFailures);
        group.gauge("referenceDevices", (Gauge<Integer>) () -> cache.current().size());
        group.gauge(
                "referenceInvalidLines", (Gauge<Integer>) () -> cache.current().invalidLines());

        cache.refresh();
        String threadName =
                "reference-refresh-" + getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks();
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        long periodMillis = refreshInterval.toMillis();
        refresher.scheduleWithFixedDelay(cache::refresh, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void processElement(TelemetryRecord record, Context ctx, Collector<EnrichedRecord> out) {
        Long timestamp = ctx.timestamp();
        if (timestamp != null && timestamp <= ctx.timerService().currentWatermark()) {
            late.inc();
        }
        Map<String, String> metadata = cache.lookup(record.deviceId);
        long now = ctx.timerService().currentProcessingTime();
        EnrichedRecord result = EnrichedRecord.of(record, metadata, now);
        long limit = EnrichmentJob.MAX_RECORD_BYTES - result.deviceId.getBytes(StandardCharsets.UTF_8).length;
        if (EnrichedRecordSerializationSchema.maxSerializedSize(result) > limit) {
            long size = serializer.serialize(result).length;
            if (size > limit) {
                invalid.inc();
                tooLarge.inc();
                byte[] payload = record.original != null ? record.original : validatedJson(record);
                ctx.output(
                        EnrichmentJob.DEAD_LETTERS,
                        DeadLetters.of(
                                DeadLetterReason.RECORD_TOO_LARGE,
                                "enriched record is "
                                        + size
                                        + " bytes, over the "
                                        + limit
                                        + " bytes a Kinesis record can hold with partition key '"
                                        + result.deviceId
                                        + "'"
                                        + (record.original != null ? "" : "; payload is the record as validated"),
                                payload,
                                now));
                return;
            }
        }
        if (metadata == null) {
            unknownDevice.inc();
        } else {
            enriched.inc();
        }
        out.collect(result);
    }

    /** The contract's fields of a validated record, for a dead letter when its raw bytes were not kept. */
    static byte[] validatedJson(TelemetryRecord r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            g.writeStartObject();
            EnrichedRecordSerializationSchema.writeTelemetryFields(
                    g, r.eventId, r.deviceId, r.timestamp, r.metrics, r.attributes);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @Override
    public void close() throws Exception {
        if (refresher != null) {
            refresher.shutdownNow();
            // Wait for an in-flight load so the loader is not closed under it.
            refresher.awaitTermination(30, TimeUnit.SECONDS);
        }
        loader.close();
    }

    long tooLargeCount() {
        return tooLarge.getCount();
    }

    long lateCount() {
        return late.getCount();
    }

    long enrichedCount() {
        return enriched.getCount();
    }

    long unknownDeviceCount() {
        return unknownDevice.getCount();
    }

    long referenceLoadFailureCount() {
        return referenceLoadFailures.getCount();
    }
}
