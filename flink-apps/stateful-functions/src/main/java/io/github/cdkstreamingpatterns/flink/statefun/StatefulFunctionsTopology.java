package io.github.cdkstreamingpatterns.flink.statefun;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Wires the runtime: envelopes → ingress router → keyBy(address) → ingress dedupe (drops an eventId already accepted
 * for the address) → function dispatcher, with the
 * function-to-function feedback loop (side output → keyBy(target) → co-located feedback tail → dispatcher).
 * Sources and sinks are left to the caller so the same topology runs against Kinesis and in tests.
 */
public final class StatefulFunctionsTopology {
    private StatefulFunctionsTopology() {}

    /** The runtime's outputs: egress records (route by {@link EgressRecord#egress}) and dead letters. */
    public static final class Outputs {
        public final DataStream<EgressRecord> egress;
        public final DataStream<DeadLetterRecord> deadLetters;

        Outputs(DataStream<EgressRecord> egress, DataStream<DeadLetterRecord> deadLetters) {
            this.egress = egress;
            this.deadLetters = deadLetters;
        }
    }

    /** Keys messages by their target address {@code "type/id"}. */
    static final class AddressKey implements KeySelector<RoutedMessage, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(RoutedMessage message) {
            return message.addressKey();
        }
    }

    public static Outputs build(DataStream<byte[]> envelopes, DispatcherConfig config) {
        if (envelopes.getExecutionEnvironment().getCheckpointConfig().isUnalignedCheckpointsEnabled()) {
            throw new IllegalArgumentException(
                    "the stateful functions runtime needs aligned checkpoints; disable unaligned checkpoints");
        }
        String pipeline = config.pipelineName();
        SingleOutputStreamOperator<RoutedMessage> routed = envelopes
                .process(new IngressRouter(config.module()), TypeInformation.of(RoutedMessage.class))
                .name("statefun-ingress-router")
                .uid(pipeline + "-ingress-router");

        // Duplicates of an accepted eventId are dropped per address, on the dispatcher's key, so per-address order
        // holds; the deduplicated stream is partitioned as keyBy(address) already and goes on without a shuffle.
        SingleOutputStreamOperator<RoutedMessage> deduplicated = routed.keyBy(new AddressKey(), Types.STRING)
                .process(new IngressDedupe(config.ingressDedupeTtl()), TypeInformation.of(RoutedMessage.class))
                .name("statefun-ingress-dedupe")
                .uid(pipeline + "-ingress-dedupe");

        SingleOutputStreamOperator<EgressRecord> dispatched = DataStreamUtils.reinterpretAsKeyedStream(
                        deduplicated, new AddressKey(), Types.STRING)
                .transform(
                        "statefun-dispatcher",
                        TypeInformation.of(EgressRecord.class),
                        new StatefunOperatorFactories.Dispatcher(config))
                .uid(pipeline + "-dispatcher");
        // Tail subtask i must run next to dispatcher subtask i: the feedback channel is in-JVM.
        String coLocation = pipeline + "-feedback";
        dispatched.getTransformation().setCoLocationGroupKey(coLocation);

        SingleOutputStreamOperator<Void> tail = dispatched
                .getSideOutput(FunctionDispatcherOperator.FEEDBACK)
                .keyBy(new AddressKey(), Types.STRING)
                .transform(
                        "statefun-feedback-tail",
                        Types.VOID,
                        new StatefunOperatorFactories.Tail(pipeline, config.maxPendingFeedback()))
                .uid(pipeline + "-feedback-tail")
                .setParallelism(dispatched.getParallelism());
        if (dispatched.getTransformation().getMaxParallelism() > 0) {
            tail.setMaxParallelism(dispatched.getTransformation().getMaxParallelism());
        }
        tail.getTransformation().setCoLocationGroupKey(coLocation);
        tail.sinkTo(new DiscardingSink<>())
                .name("statefun-feedback-end")
                .uid(pipeline + "-feedback-end")
                .setParallelism(dispatched.getParallelism());

        DataStream<DeadLetterRecord> deadLetters = routed.getSideOutput(IngressRouter.DEAD_LETTERS)
                .union(
                        dispatched.getSideOutput(FunctionDispatcherOperator.DEAD_LETTERS),
                        tail.getSideOutput(FeedbackTailOperator.DEAD_LETTERS));
        return new Outputs(dispatched, deadLetters);
    }
}
