package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.Serializable;
import java.time.Duration;
import java.util.Properties;

/**
 * Property group {@code Processing}: validation windows, dedupe TTL and watermark settings. Every key is optional;
 * a present but unparseable or non-positive value fails fast at job start with the key and value in the message.
 */
public final class ProcessingSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String DEDUPE_TTL_MINUTES = "dedupe.ttl.minutes";
    public static final String MAX_OUT_OF_ORDERNESS_SECONDS = "max.out.of.orderness.seconds";
    public static final String MAX_FUTURE_SKEW_SECONDS = "max.future.skew.seconds";
    public static final String MAX_PAST_AGE_HOURS = "max.past.age.hours";
    /** Not in the shared contract: how long a subtask may receive nothing before it stops holding back watermarks. */
    public static final String IDLE_TIMEOUT_SECONDS = "idle.timeout.seconds";

    private final Duration dedupeTtl;
    private final Duration maxOutOfOrderness;
    private final Duration maxFutureSkew;
    private final Duration maxPastAge;
    private final Duration idleTimeout;

    public ProcessingSettings(
            Duration dedupeTtl,
            Duration maxOutOfOrderness,
            Duration maxFutureSkew,
            Duration maxPastAge,
            Duration idleTimeout) {
        this.dedupeTtl = requirePositive(DEDUPE_TTL_MINUTES, dedupeTtl);
        this.maxOutOfOrderness = requireNonNegative(MAX_OUT_OF_ORDERNESS_SECONDS, maxOutOfOrderness);
        this.maxFutureSkew = requireNonNegative(MAX_FUTURE_SKEW_SECONDS, maxFutureSkew);
        this.maxPastAge = requirePositive(MAX_PAST_AGE_HOURS, maxPastAge);
        this.idleTimeout = requirePositive(IDLE_TIMEOUT_SECONDS, idleTimeout);
    }

    /** The documented defaults: 60 min TTL, 30 s out-of-orderness, 300 s future skew, 24 h past age, 60 s idleness. */
    public static ProcessingSettings defaults() {
        return fromProperties(new Properties());
    }

    public static ProcessingSettings fromProperties(Properties p) {
        return new ProcessingSettings(
                Duration.ofMinutes(longValue(p, DEDUPE_TTL_MINUTES, 60)),
                Duration.ofSeconds(longValue(p, MAX_OUT_OF_ORDERNESS_SECONDS, 30)),
                Duration.ofSeconds(longValue(p, MAX_FUTURE_SKEW_SECONDS, 300)),
                Duration.ofHours(longValue(p, MAX_PAST_AGE_HOURS, 24)),
                Duration.ofSeconds(longValue(p, IDLE_TIMEOUT_SECONDS, 60)));
    }

    static long longValue(Properties p, String key, long defaultValue) {
        String raw = p.getProperty(key);
        if (raw == null || raw.isBlank()) {
            return defaultValue;
        }
        try {
            return Long.parseLong(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer, got '" + raw + "'", e);
        }
    }

    private static Duration requirePositive(String key, Duration d) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(key + " must be positive, got " + d);
        }
        return d;
    }

    private static Duration requireNonNegative(String key, Duration d) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException(key + " must not be negative, got " + d);
        }
        return d;
    }

    public Duration dedupeTtl() {
        return dedupeTtl;
    }

    public Duration maxOutOfOrderness() {
        return maxOutOfOrderness;
    }

    public Duration maxFutureSkew() {
        return maxFutureSkew;
    }

    public Duration maxPastAge() {
        return maxPastAge;
    }

    public Duration idleTimeout() {
        return idleTimeout;
    }
}
