package io.github.cdkstreamingpatterns.flink.statefun;

import java.io.Serializable;
import java.util.Properties;

/**
 * StateExport group: {@code s3.bucket}, {@code s3.prefix}, {@code interval.seconds} (default 300),
 * {@code s3.endpoint} (optional), {@code s3.path.style}; the target may also be a local directory (tests, local runs)
 * via {@link #toDirectory}.
 */
public final class StateExportConfig implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final long DEFAULT_INTERVAL_SECONDS = 300;

    private final String bucket;
    private final String prefix;
    private final long intervalMs;
    private final String endpoint;
    private final boolean pathStyle;
    private final String region;
    private final String directory;

    private StateExportConfig(
            String bucket,
            String prefix,
            long intervalMs,
            String endpoint,
            boolean pathStyle,
            String region,
            String directory) {
        if (intervalMs < 1000) {
            throw new IllegalArgumentException("StateExport interval.seconds must be >= 1, got " + intervalMs / 1000.0);
        }
        this.bucket = bucket;
        this.prefix = normalizePrefix(prefix);
        this.intervalMs = intervalMs;
        this.endpoint = endpoint == null || endpoint.isBlank() ? null : endpoint.trim();
        this.pathStyle = pathStyle;
        this.region = region == null || region.isBlank() ? null : region.trim();
        this.directory = directory;
    }

    /** Returns null when the group is absent or has no bucket (export off). */
    public static StateExportConfig fromProperties(Properties props) {
        if (props == null || props.getProperty("s3.bucket", "").isBlank()) {
            return null;
        }
        long seconds = Long.parseLong(props.getProperty("interval.seconds", String.valueOf(DEFAULT_INTERVAL_SECONDS))
                .trim());
        return new StateExportConfig(
                props.getProperty("s3.bucket").trim(),
                props.getProperty("s3.prefix", "statefun-state"),
                seconds * 1000,
                props.getProperty("s3.endpoint"),
                Boolean.parseBoolean(props.getProperty("s3.path.style", "false").trim()),
                props.getProperty("aws.region"),
                null);
    }

    /** Exports to files under a local directory instead of S3. */
    public static StateExportConfig toDirectory(String directory, String prefix, long intervalMs) {
        return new StateExportConfig(null, prefix, intervalMs, null, false, null, directory);
    }

    private static String normalizePrefix(String prefix) {
        String p = prefix == null ? "" : prefix.trim();
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    /** Object key of one subtask's export taken at {@code exportedAt}. */
    public String objectKey(long exportedAt, int subtask) {
        String name = exportedAt + "/subtask-" + subtask + ".jsonl";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    public String bucket() {
        return bucket;
    }

    public String prefix() {
        return prefix;
    }

    public long intervalMs() {
        return intervalMs;
    }

    public String endpoint() {
        return endpoint;
    }

    public boolean pathStyle() {
        return pathStyle;
    }

    public String region() {
        return region;
    }

    public String directory() {
        return directory;
    }

    StateExportWriter createWriter() {
        return directory != null
                ? new FileStateExportWriter(java.nio.file.Path.of(directory))
                : S3StateExportWriter.create(this);
    }
}
