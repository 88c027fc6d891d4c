package io.github.cdkstreamingpatterns.flink.enrichment;

import static io.github.cdkstreamingpatterns.flink.enrichment.TestRecords.telemetry;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.TimestampAssignerSupplier;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.clock.ManualClock;
import org.apache.flink.util.clock.RelativeClock;
import org.junit.jupiter.api.Test;

class WatermarkStrategyTest {
    private final ManualClock clock = new ManualClock();
    private final WatermarkStrategy<TelemetryRecord> strategy =
            EnrichmentJob.watermarkStrategy(ProcessingSettings.fromProperties(
                    props("max.out.of.orderness.seconds", "30", "idle.timeout.seconds", "60")));

    private static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    private static final class Recording implements WatermarkOutput {
        final List<Long> watermarks = new ArrayList<>();
        boolean idle;

        @Override
        public void emitWatermark(Watermark watermark) {
            watermarks.add(watermark.getTimestamp());
            idle = false;
        }

        @Override
        public void markIdle() {
            idle = true;
        }

        @Override
        public void markActive() {
            idle = false;
        }
    }

    private WatermarkGenerator<TelemetryRecord> generator() {
        return strategy.createWatermarkGenerator(new WatermarkGeneratorSupplier.Context() {
            @Override
            public MetricGroup getMetricGroup() {
                return new UnregisteredMetricsGroup();
            }

            @Override
            public RelativeClock getInputActivityClock() {
                return clock;
            }
        });
    }

    @Test
    void eventTimeIsTheRecordTimestamp() {
        TimestampAssigner<TelemetryRecord> assigner =
                strategy.createTimestampAssigner((TimestampAssignerSupplier.Context) UnregisteredMetricsGroup::new);
        assertThat(assigner.extractTimestamp(telemetry("e", "d", 1_764_403_200_123L, 1), 42L))
                .isEqualTo(1_764_403_200_123L);
    }

    @Test
    void watermarkTrailsTheHighestTimestampByTheBoundAndOutOfOrderRecordsDoNotMoveItBack() {
        WatermarkGenerator<TelemetryRecord> gen = generator();
        Recording out = new Recording();
        gen.onEvent(telemetry("a", "d", 100_000, 1), 100_000, out);
        gen.onPeriodicEmit(out);
        gen.onEvent(telemetry("b", "d", 80_000, 1), 80_000, out); // out of order, within the bound
        gen.onPeriodicEmit(out);
        gen.onEvent(telemetry("c", "d", 130_000, 1), 130_000, out);
        gen.onPeriodicEmit(out);

        // Bounded out-of-orderness: watermark = max timestamp - bound - 1.
        assertThat(out.watermarks).containsExactly(69_999L, 69_999L, 99_999L);
        // The record at 80 000 was within the bound when it arrived (80 000 > 69 999); one at 69 999 would be late.
    }

    @Test
    void idleInputIsMarkedIdleAfterTheTimeoutAndActiveAgainOnTheNextRecord() {
        clock.advanceTime(Duration.ofSeconds(1));
        WatermarkGenerator<TelemetryRecord> gen = generator();
        Recording out = new Recording();
        gen.onEvent(telemetry("a", "d", 100_000, 1), 100_000, out);
        gen.onPeriodicEmit(out); // sees the activity
        gen.onPeriodicEmit(out); // first probe without activity: inactivity starts now
        assertThat(out.idle).isFalse();

        clock.advanceTime(Duration.ofSeconds(60));
        gen.onPeriodicEmit(out);
        assertThat(out.idle).isFalse();

        clock.advanceTime(Duration.ofMillis(1));
        gen.onPeriodicEmit(out);
        assertThat(out.idle).isTrue();

        gen.onEvent(telemetry("b", "d", 200_000, 1), 200_000, out);
        gen.onPeriodicEmit(out);
        assertThat(out.idle).isFalse();
        assertThat(out.watermarks).last().isEqualTo(169_999L);
    }
}
