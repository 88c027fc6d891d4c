package io.github.cdkstreamingpatterns.flink.statefun;

import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;

/** Operator factories: they pass the task's mailbox executor to the operators. */
final class StatefunOperatorFactories {
    private StatefunOperatorFactories() {}

    static final class Dispatcher extends AbstractStreamOperatorFactory<EgressRecord>
            implements OneInputStreamOperatorFactory<RoutedMessage, EgressRecord> {
        private static final long serialVersionUID = 1L;
        private final DispatcherConfig config;

        Dispatcher(DispatcherConfig config) {
            this.config = config;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T extends StreamOperator<EgressRecord>> T createStreamOperator(
                StreamOperatorParameters<EgressRecord> parameters) {
            return (T) new FunctionDispatcherOperator(parameters, config);
        }

        @Override
        public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
            return FunctionDispatcherOperator.class;
        }
    }

    static final class Tail extends AbstractStreamOperatorFactory<Void>
            implements OneInputStreamOperatorFactory<RoutedMessage, Void> {
        private static final long serialVersionUID = 1L;
        private final String pipelineName;
        private final int maxPendingFeedback;

        Tail(String pipelineName, int maxPendingFeedback) {
            this.pipelineName = pipelineName;
            this.maxPendingFeedback = maxPendingFeedback;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T extends StreamOperator<Void>> T createStreamOperator(StreamOperatorParameters<Void> parameters) {
            return (T) new FeedbackTailOperator(parameters, pipelineName, maxPendingFeedback);
        }

        @Override
        public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
            return FeedbackTailOperator.class;
        }
    }
}
