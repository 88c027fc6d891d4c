package io.github.cdkstreamingpatterns.flink.statefun;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;

/** The runtime's metrics of one job as the reporter saw them, by name relative to kinesisanalytics.Pipeline.stateful-functions. */
final class ReportedMetrics {
    // The kinesisanalytics group is what Managed Flink forwards to CloudWatch.
    private static final String MARKER = "." + StatefunMetrics.CLOUDWATCH_GROUP + "." + StatefunMetrics.PIPELINE_KEY
            + "." + StatefunMetrics.PIPELINE + ".";

    private final Map<String, Long> counters = new HashMap<>();
    private final Map<String, Map<String, Object>> gauges = new HashMap<>();

    ReportedMetrics(InMemoryReporter reporter, JobID job) {
        for (Map.Entry<MetricGroup, Map<String, Metric>> group :
                reporter.getMetricsByGroup().entrySet()) {
            if (!job.toString().equals(group.getKey().getAllVariables().get("<job_id>"))) {
                continue;
            }
            for (Map.Entry<String, Metric> m : group.getValue().entrySet()) {
                String id = group.getKey().getMetricIdentifier(m.getKey());
                int at = id.lastIndexOf(MARKER);
                if (at < 0) {
                    continue;
                }
                String name = id.substring(at + MARKER.length());
                if (m.getValue() instanceof Counter counter) {
                    counters.merge(name, counter.getCount(), Long::sum);
                } else if (m.getValue() instanceof Gauge<?> gauge) {
                    // One value per subtask, keyed by the scope before the marker.
                    gauges.computeIfAbsent(name, k -> new HashMap<>()).put(id.substring(0, at), gauge.getValue());
                }
            }
        }
    }

    /** Sum over operators and subtasks; 0 when never registered would hide a missing metric, so that fails. */
    long counter(String name) {
        Long value = counters.get(name);
        if (value == null) {
            throw new AssertionError("counter " + name + " is not registered; registered: " + counters.keySet());
        }
        return value;
    }

    Map<String, Long> counters() {
        return counters;
    }

    /** Values of a gauge, one per subtask. */
    Map<String, Object> gauge(String name) {
        Map<String, Object> values = gauges.get(name);
        if (values == null) {
            throw new AssertionError("gauge " + name + " is not registered; registered: " + gauges.keySet());
        }
        return values;
    }
}
