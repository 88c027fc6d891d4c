package io.github.cdkstreamingpatterns.flink.common;

import java.io.Serializable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with jitter: after {@code n} failures in a row the delay is drawn below the ceiling
 * {@code min(max, base * 2^(n-1))}, so that clients failing together do not retry together. The ceiling is computed
 * without overflow for any {@code n}.
 */
public final class Backoff implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How the delay is drawn below the ceiling {@code c}. */
    public enum Jitter {
        /** Uniform in {@code [0, c]}. */
        FULL,
        /** Half fixed, half random: uniform in {@code [c / 2, c]} (integer division), so it never retries at once. */
        EQUAL
    }

    private final long baseMillis;
    private final long maxMillis;
    private final Jitter jitter;

    /**
     * @param baseMillis ceiling after the first failure; may exceed {@code maxMillis}, which then caps it
     * @param maxMillis largest ceiling
     */
    public Backoff(long baseMillis, long maxMillis, Jitter jitter) {
        if (baseMillis < 1 || maxMillis < 1) {
            throw new IllegalArgumentException(
                    "backoff needs base and max of 1 ms or more, got " + baseMillis + ", " + maxMillis);
        }
        if (jitter == null) {
            throw new IllegalArgumentException("backoff needs a jitter");
        }
        this.baseMillis = baseMillis;
        this.maxMillis = maxMillis;
        this.jitter = jitter;
    }

    public static Backoff equalJitter(long baseMillis, long maxMillis) {
        return new Backoff(baseMillis, maxMillis, Jitter.EQUAL);
    }

    public static Backoff fullJitter(long baseMillis, long maxMillis) {
        return new Backoff(baseMillis, maxMillis, Jitter.FULL);
    }

    /** {@code min(max, base * 2^(failures-1))}; a count below 1 counts as 1. */
    public long ceilingMillis(int failures) {
        int shift = Math.min(Math.max(failures, 1) - 1, 62);
        // base << shift > max exactly when base > floor(max / 2^shift); testing it this way cannot overflow.
        return baseMillis > (maxMillis >> shift) ? maxMillis : baseMillis << shift;
    }

    /** The delay before the next attempt after {@code failures} failures in a row. */
    public long delayMillis(int failures) {
        return delayMillis(failures, ThreadLocalRandom.current());
    }

    /** As {@link #delayMillis(int)}, drawing from {@code random} (tests pass a seeded or fixed one). */
    public long delayMillis(int failures, RandomGenerator random) {
        long ceiling = ceilingMillis(failures);
        if (jitter == Jitter.FULL) {
            return random.nextLong(ceiling + 1);
        }
        long half = ceiling / 2;
        return half + random.nextLong(ceiling - half + 1);
    }

    @Override
    public String toString() {
        return "Backoff{base=" + baseMillis + "ms, max=" + maxMillis + "ms, jitter=" + jitter + "}";
    }
}
