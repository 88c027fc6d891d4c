package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the last good reference data snapshot. {@link #refresh()} may run on a background thread while
 * {@link #lookup(String)} runs on the task thread: the snapshot is immutable and published through a volatile field.
 * A failed load never replaces the current snapshot; it is counted and logged.
 */
public final class ReferenceDataCache {
    private static final Logger LOG = LoggerFactory.getLogger(ReferenceDataCache.class);

    private final ReferenceDataLoader loader;
    private final Counter loadFailures;
    private volatile ReferenceData current = ReferenceData.empty();
    private volatile long lastSuccessAt = -1;

    public ReferenceDataCache(ReferenceDataLoader loader, Counter loadFailures) {
        this.loader = loader;
        this.loadFailures = loadFailures;
    }

    /** Loads a new snapshot; on any failure keeps the current one. Returns whether the load succeeded. */
    public synchronized boolean refresh() {
        try {
            ReferenceData data = loader.load();
            if (data == null) {
                throw new IllegalStateException("loader returned no data");
            }
            current = data;
            lastSuccessAt = System.currentTimeMillis();
            if (data.invalidLines() > 0) {
                LOG.warn(
                        "Reference data loaded with {} devices, {} invalid line(s) skipped",
                        data.size(),
                        data.invalidLines());
            }
            return true;
        } catch (Exception e) {
            // Catch everything: a refresh runs on a scheduler thread, and an escaping exception would cancel the
            // schedule.
            loadFailures.inc();
            LOG.warn("Reference data refresh failed; keeping the last good copy ({} devices)", current.size(), e);
            return false;
        }
    }

    /** Metadata of the device, or null when unknown. */
    public Map<String, String> lookup(String deviceId) {
        return current.lookup(deviceId);
    }

    public ReferenceData current() {
        return current;
    }

    /** Epoch millis of the last successful load, -1 before the first. */
    public long lastSuccessAt() {
        return lastSuccessAt;
    }
}
