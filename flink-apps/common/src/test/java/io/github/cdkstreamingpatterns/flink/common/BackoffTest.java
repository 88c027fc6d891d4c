package io.github.cdkstreamingpatterns.flink.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class BackoffTest {
    /** Draws the lowest value, or the highest, of every bound it is asked for. */
    private static RandomGenerator fixed(boolean highest) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public long nextLong(long bound) {
                return highest ? bound - 1 : 0;
            }
        };
    }

    @Test
    void theCeilingDoublesFromTheBaseUpToTheMax() {
        Backoff b = Backoff.equalJitter(100, 30_000);
        assertThat(b.ceilingMillis(1)).isEqualTo(100);
        assertThat(b.ceilingMillis(2)).isEqualTo(200);
        assertThat(b.ceilingMillis(3)).isEqualTo(400);
        assertThat(b.ceilingMillis(9)).isEqualTo(25_600);
        assertThat(b.ceilingMillis(10)).isEqualTo(30_000);
        assertThat(b.ceilingMillis(64)).isEqualTo(30_000);
        assertThat(b.ceilingMillis(Integer.MAX_VALUE)).isEqualTo(30_000);
        assertThat(b.ceilingMillis(0)).as("no failure counts as one").isEqualTo(100);
        assertThat(Backoff.equalJitter(20_000, 10_000).ceilingMillis(1))
                .as("a base above the max")
                .isEqualTo(10_000);
        assertThat(Backoff.equalJitter(Long.MAX_VALUE / 2, Long.MAX_VALUE).ceilingMillis(3))
                .isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void equalJitterKeepsHalfTheCeilingFixed() {
        Backoff b = Backoff.equalJitter(100, 30_000);
        assertThat(b.delayMillis(1, fixed(false))).isEqualTo(50);
        assertThat(b.delayMillis(1, fixed(true))).isEqualTo(100);
        assertThat(b.delayMillis(3, fixed(false))).isEqualTo(200);
        assertThat(b.delayMillis(3, fixed(true))).isEqualTo(400);
        assertThat(b.delayMillis(20, fixed(false))).isEqualTo(15_000);
        assertThat(b.delayMillis(20, fixed(true))).isEqualTo(30_000);
        assertThat(Backoff.equalJitter(1, 1).delayMillis(1, fixed(false))).isZero();
        assertThat(Backoff.equalJitter(101, 1_000).delayMillis(1, fixed(true))).isEqualTo(101);
    }

    @Test
    void fullJitterDrawsFromZeroToTheCeiling() {
        Backoff b = Backoff.fullJitter(100, 5_000);
        assertThat(b.delayMillis(1, fixed(false))).isZero();
        assertThat(b.delayMillis(1, fixed(true))).isEqualTo(100);
        assertThat(b.delayMillis(12, fixed(true))).isEqualTo(5_000);
    }

    @Test
    void withoutAGeneratorTheDelayIsStillInRange() {
        Backoff b = Backoff.equalJitter(100, 30_000);
        for (int i = 0; i < 200; i++) {
            assertThat(b.delayMillis(1)).isBetween(50L, 100L);
            assertThat(b.delayMillis(3)).isBetween(200L, 400L);
            assertThat(b.delayMillis(64)).isBetween(15_000L, 30_000L);
        }
    }

    @Test
    void rejectsNonPositiveBounds() {
        assertThatThrownBy(() -> Backoff.equalJitter(0, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Backoff.fullJitter(10, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(1, 1, null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Property(seed = PropertySeed.SEED, tries = 500)
    void delaysStayBelowACeilingThatGrowsToTheMax(
            @ForAll @LongRange(min = 1, max = 1L << 40) long base,
            @ForAll @LongRange(min = 1, max = 1L << 40) long max,
            @ForAll @IntRange(min = 1, max = 200) int failures,
            @ForAll long seed) {
        Backoff equal = Backoff.equalJitter(base, max);
        Backoff full = Backoff.fullJitter(base, max);
        long ceiling = equal.ceilingMillis(failures);

        assertThat(ceiling).isBetween(Math.min(base, max), max);
        assertThat(equal.ceilingMillis(failures + 1)).isBetween(ceiling, Math.max(ceiling, Math.min(max, 2 * ceiling)));
        assertThat(BigInteger.valueOf(ceiling))
                .isEqualTo(BigInteger.valueOf(base).shiftLeft(failures - 1).min(BigInteger.valueOf(max)));
        assertThat(equal.delayMillis(failures, new SplittableRandom(seed))).isBetween(ceiling / 2, ceiling);
        assertThat(full.delayMillis(failures, new SplittableRandom(seed))).isBetween(0L, ceiling);
        assertThat(equal.delayMillis(failures, new SplittableRandom(seed)))
                .as("the same generator state gives the same delay")
                .isEqualTo(equal.delayMillis(failures, new SplittableRandom(seed)));
    }
}
