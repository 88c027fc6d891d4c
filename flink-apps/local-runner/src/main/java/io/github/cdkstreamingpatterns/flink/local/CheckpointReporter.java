package io.github.cdkstreamingpatterns.flink.local;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.metrics.reporter.Scheduled;

/**
 * A metric reporter the runner installs in its mini cluster: it watches the job manager's checkpoint and restart
 * metrics of the job and prints a {@code CHECKPOINT}, {@code CHECKPOINT_FAILED} or {@code JOB_RESTARTING} line when
 * they change. Flink calls {@link #report()} every {@code metrics.reporter.<name>.interval}.
 */
public final class CheckpointReporter implements MetricReporter, Scheduled {
    static final String COMPLETED = "numberOfCompletedCheckpoints";
    static final String FAILED = "numberOfFailedCheckpoints";
    static final String LAST_ID = "lastCompletedCheckpointId";
    static final String LAST_DURATION = "lastCheckpointDuration";
    static final String LAST_SIZE = "lastCheckpointSize";
    static final String LAST_PATH = "lastCheckpointExternalPath";
    static final String RESTARTS = "numRestarts";
    private static final Set<String> WATCHED =
            Set.of(COMPLETED, FAILED, LAST_ID, LAST_DURATION, LAST_SIZE, LAST_PATH, RESTARTS);

    private final Map<String, Metric> metrics = new ConcurrentHashMap<>();
    private long reportedId = -1;
    private long reportedFailed;
    private long reportedRestarts;

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {
        // A last look, so a checkpoint that completed just before the job ended is not lost.
        report();
    }

    @Override
    public void notifyOfAddedMetric(Metric metric, String metricName, MetricGroup group) {
        if (WATCHED.contains(metricName)) {
            metrics.put(metricName, metric);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String metricName, MetricGroup group) {
        metrics.remove(metricName, metric);
    }

    @Override
    public synchronized void report() {
        long id = longValue(LAST_ID, -1);
        if (id > 0 && id != reportedId) {
            String path = stringValue(LAST_PATH);
            long duration = longValue(LAST_DURATION, -1);
            long size = longValue(LAST_SIZE, -1);
            long completed = longValue(COMPLETED, -1);
            // The gauges are read one by one: if another checkpoint completed meanwhile, report it on the next tick.
            if (longValue(LAST_ID, -1) == id && (path == null || path.endsWith("chk-" + id))) {
                reportedId = id;
                Map<String, Object> fields = new LinkedHashMap<>();
                fields.put("id", id);
                fields.put("durationMs", duration);
                fields.put("sizeBytes", size);
                fields.put("completed", completed);
                fields.put("path", path);
                Events.emit("CHECKPOINT", fields);
            }
        }
        long failed = longValue(FAILED, 0);
        if (failed > reportedFailed) {
            reportedFailed = failed;
            Events.emit("CHECKPOINT_FAILED", Map.of("failed", failed));
        }
        long restarts = longValue(RESTARTS, 0);
        if (restarts > reportedRestarts) {
            reportedRestarts = restarts;
            Events.emit("JOB_RESTARTING", Map.of("restarts", restarts));
        }
    }

    private long longValue(String name, long absent) {
        Metric m = metrics.get(name);
        Object v = null;
        if (m instanceof Gauge) {
            v = ((Gauge<?>) m).getValue();
        } else if (m instanceof Counter) {
            v = ((Counter) m).getCount();
        }
        return v instanceof Number ? ((Number) v).longValue() : absent;
    }

    private String stringValue(String name) {
        Metric m = metrics.get(name);
        Object v = m instanceof Gauge ? ((Gauge<?>) m).getValue() : null;
        // Flink's gauge says "n/a" before the first checkpoint.
        return v == null || "n/a".equals(v.toString()) ? null : v.toString();
    }

    /** Found by Flink through META-INF/services; named in the runner's configuration. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new CheckpointReporter();
        }
    }
}
