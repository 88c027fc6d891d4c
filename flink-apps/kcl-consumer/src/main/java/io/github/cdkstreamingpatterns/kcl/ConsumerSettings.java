package io.github.cdkstreamingpatterns.kcl;

import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import software.amazon.awssdk.arns.Arn;
import software.amazon.kinesis.common.InitialPositionInStream;
import software.amazon.kinesis.metrics.MetricsLevel;

/**
 * What a consumer reads and writes, from environment variables (the ECS task definition sets them):
 *
 * <ul>
 *   <li>{@code STREAM_ARN} or {@code STREAM_NAME} (exactly one): the stream to read.
 *   <li>{@code APPLICATION_NAME}: the KCL application, which names the lease table and its two companions
 *       ({@code <name>-CoordinatorState}, {@code <name>-WorkerMetricStats}).
 *   <li>{@code STATE_TABLE_NAME}: the table of per-device latest state.
 *   <li>{@code AWS_REGION}: the region of all three services.
 *   <li>{@code INITIAL_POSITION}: {@code TRIM_HORIZON} (default) or {@code LATEST}, for shards without a checkpoint.
 *   <li>{@code METRICS_LEVEL}: the KCL's CloudWatch metrics, {@code NONE}, {@code SUMMARY} (default) or
 *       {@code DETAILED}.
 *   <li>{@code FAILOVER_TIME_MILLIS}: how long a lease lives without renewal before another worker takes it (KCL
 *       default 10000).
 *   <li>{@code SHARD_SYNC_INTERVAL_MILLIS}: how often the leader lists the shards to create leases for new ones, and
 *       how long the first sync pauses a starting worker (KCL default 60000).
 *   <li>{@code KINESIS_ENDPOINT}, {@code DYNAMODB_ENDPOINT}, {@code CLOUDWATCH_ENDPOINT}: endpoint overrides, for local
 *       servers.
 *   <li>{@code WORKER_ID}: this worker's lease owner name (default: a random UUID, new per start).
 * </ul>
 */
public record ConsumerSettings(
        String streamArn,
        String streamName,
        String applicationName,
        String stateTableName,
        String region,
        InitialPositionInStream initialPosition,
        MetricsLevel metricsLevel,
        long failoverTimeMillis,
        long shardSyncIntervalMillis,
        Optional<URI> kinesisEndpoint,
        Optional<URI> dynamoDbEndpoint,
        Optional<URI> cloudWatchEndpoint,
        String workerId) {

    static final long DEFAULT_FAILOVER_TIME_MILLIS = 10_000;
    static final long DEFAULT_SHARD_SYNC_INTERVAL_MILLIS = 60_000;

    public ConsumerSettings {
        if ((streamArn == null) == (streamName == null)) {
            throw new IllegalArgumentException("set exactly one of STREAM_ARN and STREAM_NAME, got STREAM_ARN="
                    + streamArn + ", STREAM_NAME=" + streamName);
        }
        if (streamArn != null) {
            Arn arn = parseArn(streamArn);
            if (!"kinesis".equals(arn.service()) || !arn.resourceAsString().startsWith("stream/")) {
                throw new IllegalArgumentException(
                        "STREAM_ARN must be a Kinesis stream ARN (arn:<partition>:kinesis:<region>:<account>:stream/"
                                + "<name>), got " + streamArn);
            }
        }
        requireText("APPLICATION_NAME", applicationName);
        requireText("STATE_TABLE_NAME", stateTableName);
        requireText("AWS_REGION", region);
        requireText("WORKER_ID", workerId);
        if (failoverTimeMillis < 1000) {
            throw new IllegalArgumentException("FAILOVER_TIME_MILLIS must be at least 1000, got " + failoverTimeMillis);
        }
        if (shardSyncIntervalMillis < 1000) {
            throw new IllegalArgumentException(
                    "SHARD_SYNC_INTERVAL_MILLIS must be at least 1000, got " + shardSyncIntervalMillis);
        }
    }

    /** Reads the settings from {@code env} (normally {@link System#getenv()}). */
    public static ConsumerSettings fromEnvironment(Map<String, String> env) {
        return new ConsumerSettings(
                blankToNull(env.get("STREAM_ARN")),
                blankToNull(env.get("STREAM_NAME")),
                env.get("APPLICATION_NAME"),
                env.get("STATE_TABLE_NAME"),
                env.get("AWS_REGION"),
                initialPosition(env.getOrDefault("INITIAL_POSITION", "TRIM_HORIZON")),
                metricsLevel(env.getOrDefault("METRICS_LEVEL", "SUMMARY")),
                millis("FAILOVER_TIME_MILLIS", env.get("FAILOVER_TIME_MILLIS"), DEFAULT_FAILOVER_TIME_MILLIS),
                millis(
                        "SHARD_SYNC_INTERVAL_MILLIS",
                        env.get("SHARD_SYNC_INTERVAL_MILLIS"),
                        DEFAULT_SHARD_SYNC_INTERVAL_MILLIS),
                endpoint("KINESIS_ENDPOINT", env.get("KINESIS_ENDPOINT")),
                endpoint("DYNAMODB_ENDPOINT", env.get("DYNAMODB_ENDPOINT")),
                endpoint("CLOUDWATCH_ENDPOINT", env.get("CLOUDWATCH_ENDPOINT")),
                Optional.ofNullable(blankToNull(env.get("WORKER_ID")))
                        .orElseGet(() -> UUID.randomUUID().toString()));
    }

    /** A copy with another worker id (tests run several workers in one JVM). */
    public ConsumerSettings withWorkerId(String id) {
        return new ConsumerSettings(
                streamArn,
                streamName,
                applicationName,
                stateTableName,
                region,
                initialPosition,
                metricsLevel,
                failoverTimeMillis,
                shardSyncIntervalMillis,
                kinesisEndpoint,
                dynamoDbEndpoint,
                cloudWatchEndpoint,
                id);
    }

    private static Arn parseArn(String value) {
        try {
            return Arn.fromString(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("STREAM_ARN is not an ARN: " + value, e);
        }
    }

    private static InitialPositionInStream initialPosition(String value) {
        String upper = value.trim().toUpperCase(Locale.ROOT);
        if (!upper.equals("TRIM_HORIZON") && !upper.equals("LATEST")) {
            throw new IllegalArgumentException("INITIAL_POSITION must be TRIM_HORIZON or LATEST, got " + value);
        }
        return InitialPositionInStream.valueOf(upper);
    }

    private static MetricsLevel metricsLevel(String value) {
        String upper = value.trim().toUpperCase(Locale.ROOT);
        for (MetricsLevel level : MetricsLevel.values()) {
            if (level.name().equals(upper)) {
                return level;
            }
        }
        throw new IllegalArgumentException("METRICS_LEVEL must be NONE, SUMMARY or DETAILED, got " + value);
    }

    private static long millis(String name, String value, long defaultValue) {
        if (blankToNull(value) == null) {
            return defaultValue;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got " + value, e);
        }
    }

    private static Optional<URI> endpoint(String name, String value) {
        if (blankToNull(value) == null) {
            return Optional.empty();
        }
        URI uri;
        try {
            uri = URI.create(value.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " is not a URL: " + value, e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException(name + " must be an http(s) URL, got " + value);
        }
        return Optional.of(uri);
    }

    private static void requireText(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must be set, got '" + value + "'");
        }
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }
}
