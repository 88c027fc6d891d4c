package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Parses and validates raw records. Valid records go to the main output; every invalid record goes to
 * {@link EnrichmentJob#DEAD_LETTERS} with its reason and the original bytes, so nothing is dropped.
 *
 * <p>Metrics in group {@code enrichment}: {@code valid}, {@code invalid} (total) and {@code invalidReason.<CODE>}.
 * {@code RECORD_TOO_LARGE} is counted by {@link EnrichFunction}, for records that were valid here.
 */
public class ValidateFunction extends ProcessFunction<byte[], TelemetryRecord> {
    private static final long serialVersionUID = 1L;

    private final TelemetryParser parser;

    private transient Counter valid;
    private transient Counter invalid;
    private transient Map<DeadLetterReason, Counter> invalidByReason;

    public ValidateFunction(ProcessingSettings settings) {
        this.parser = new TelemetryParser(settings);
    }

    @Override
    public void open(OpenContext openContext) {
        MetricGroup group = EnrichmentJob.metricGroup(getRuntimeContext().getMetricGroup());
        valid = group.counter("valid");
        invalid = group.counter("invalid");
        MetricGroup byReason = group.addGroup("invalidReason");
        invalidByReason = new EnumMap<>(DeadLetterReason.class);
        for (DeadLetterReason reason : DeadLetterReason.values()) {
            if (reason != DeadLetterReason.RECORD_TOO_LARGE) {
                invalidByReason.put(reason, byReason.counter(reason.name()));
            }
        }
    }

    @Override
    public void processElement(byte[] payload, Context ctx, Collector<TelemetryRecord> out) {
        long now = ctx.timerService().currentProcessingTime();
        ParseResult result = parser.parse(payload, now);
        if (result.isValid()) {
            valid.inc();
            TelemetryRecord record = result.record();
            if (payload.length > TelemetryRecord.KEEP_ORIGINAL_ABOVE_BYTES) {
                record.original = payload;
            }
            out.collect(record);
        } else {
            invalid.inc();
            invalidByReason.get(result.reason()).inc();
            byte[] original = payload == null ? new byte[0] : payload;
            ctx.output(EnrichmentJob.DEAD_LETTERS, DeadLetters.of(result.reason(), result.detail(), original, now));
        }
    }
}
