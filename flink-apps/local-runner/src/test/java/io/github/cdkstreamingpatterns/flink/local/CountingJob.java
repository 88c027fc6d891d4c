package io.github.cdkstreamingpatterns.flink.local;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The test application: numbers 0, 1, 2, ... at 20 a second, counted in keyed state, printed as {@code VALUE <n>
 * <count>}. After a restore from a checkpoint the first number printed is past 0 and its count is n + 1: the source
 * position and the operator state come from the same checkpoint.
 */
public final class CountingJob {
    private CountingJob() {}

    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        System.out.println("LOCAL " + (env instanceof LocalStreamEnvironment) + " "
                + System.getProperty(LocalJobRunner.PROPERTIES_SYSTEM_PROPERTY) + " "
                + env.getCheckpointConfig().getCheckpointInterval());
        // As the stateful-functions job does: its own interval only when the runner set none.
        if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
            env.enableCheckpointing(60_000);
        }
        boolean fail = args.length > 0 && "fail".equals(args[0]);
        env.fromSource(
                        new DataGeneratorSource<>(
                                i -> i, Long.MAX_VALUE, RateLimiterStrategy.perSecond(20), Types.LONG),
                        WatermarkStrategy.noWatermarks(),
                        "numbers")
                .uid("numbers")
                .keyBy(n -> 0L, Types.LONG)
                .process(new Count(fail))
                .uid("count")
                .print();
        env.execute("counting");
    }

    static final class Count extends KeyedProcessFunction<Long, Long, String> {
        private static final long serialVersionUID = 1L;
        private final boolean fail;
        private transient ValueState<Long> count;

        Count(boolean fail) {
            this.fail = fail;
        }

        @Override
        public void open(OpenContext openContext) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long n, Context ctx, Collector<String> out) throws Exception {
            if (fail && n == 5) {
                throw new IllegalStateException("number 5 is not welcome");
            }
            long c = count.value() == null ? 1 : count.value() + 1;
            count.update(c);
            out.collect("VALUE " + n + " " + c);
        }
    }
}
