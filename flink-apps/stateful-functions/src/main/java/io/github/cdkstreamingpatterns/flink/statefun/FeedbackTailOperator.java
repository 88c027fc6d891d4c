package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.checkpoint.CheckpointOptions;
import org.apache.flink.runtime.state.CheckpointStreamFactory;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.OperatorSnapshotFutures;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End of the feedback loop: receives function-to-function messages keyed by their target and hands them to the
 * co-located {@link FunctionDispatcherOperator} subtask through its {@link FeedbackChannels.Channel}. Its checkpoint
 * holds the messages handed over after the dispatcher's snapshot of the same checkpoint; they are handed over again
 * after a restore (union list state, filtered by key-group ownership so rescaling keeps each message with its key).
 *
 * <p>A message that arrives while the dispatcher already holds {@code max.pending.feedback} messages from the loop is
 * not handed over but dead-lettered with {@code FEEDBACK_OVERFLOW} on {@link #DEAD_LETTERS} (see
 * {@link FeedbackChannels} for why the tail cannot wait instead).
 */
final class FeedbackTailOperator extends AbstractStreamOperator<Void>
        implements OneInputStreamOperator<RoutedMessage, Void>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(FeedbackTailOperator.class);

    public static final OutputTag<DeadLetterRecord> DEAD_LETTERS =
            new OutputTag<>("statefun-feedback-dead-letters", TypeInformation.of(DeadLetterRecord.class));

    private final String pipelineName;
    private final int maxPendingFeedback;
    private transient StatefunMetrics metrics;
    private transient ListState<RoutedMessage> pending;
    private transient List<RoutedMessage> restoredMessages;
    private transient FeedbackChannels.Channel channel;
    private transient FeedbackChannels.Quiescence quiescence;

    FeedbackTailOperator(StreamOperatorParameters<Void> parameters, String pipelineName, int maxPendingFeedback) {
        super(parameters);
        this.pipelineName = pipelineName;
        this.maxPendingFeedback = maxPendingFeedback;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        pending = context.getOperatorStateStore()
                .getUnionListState(new ListStateDescriptor<>(
                        "statefun-feedback-in-transit", TypeInformation.of(RoutedMessage.class)));
        restoredMessages = new ArrayList<>();
        if (context.isRestored()) {
            int maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
            int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            for (RoutedMessage message : pending.get()) {
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(
                                message.addressKey(), maxParallelism, parallelism)
                        == subtask) {
                    restoredMessages.add(message);
                }
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        metrics = new StatefunMetrics(getRuntimeContext().getMetricGroup(), StatefunMetrics.FEEDBACK_REASONS);
        String jobId = getRuntimeContext().getJobInfo().getJobId().toString();
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        channel = FeedbackChannels.channel(FeedbackChannels.channelKey(pipelineName, jobId, subtask, attempt));
        channel.acquire();
        quiescence = FeedbackChannels.quiescence(FeedbackChannels.jobKey(pipelineName, jobId, attempt), parallelism);
        quiescence.register(restoredMessages.size());
        if (!restoredMessages.isEmpty()) {
            LOG.info(
                    "Handing {} restored function-to-function messages back to the dispatcher",
                    restoredMessages.size());
        }
        for (RoutedMessage message : restoredMessages) {
            channel.put(message);
        }
        restoredMessages = null;
    }

    @Override
    public void processElement(StreamRecord<RoutedMessage> element) {
        RoutedMessage message = element.getValue();
        if (channel.offer(message, maxPendingFeedback)) {
            return;
        }
        ObjectNode payload = Json.object();
        payload.set("address", message.target().toJson());
        payload.set("message", Json.read(message.messageJson));
        output.collect(
                DEAD_LETTERS,
                new StreamRecord<>(DeadLetters.of(
                        DeadLetters.FEEDBACK_OVERFLOW,
                        "the dispatcher subtask of " + message.addressKey() + " already holds max.pending.feedback = "
                                + maxPendingFeedback + " function-to-function messages",
                        message.addressKey(),
                        Json.write(payload),
                        System.currentTimeMillis())));
        metrics.messageDeadLettered(DeadLetters.FEEDBACK_OVERFLOW);
        // The sender counted it as outstanding work; it is finished now.
        quiescence.add(-1);
    }

    @Override
    public OperatorSnapshotFutures snapshotState(
            long checkpointId, long timestamp, CheckpointOptions options, CheckpointStreamFactory factory)
            throws Exception {
        if (options.isUnalignedCheckpoint()) {
            // In-flight feedback would be captured twice or not at all; fail the checkpoint loudly instead.
            throw new IllegalStateException(
                    "unaligned checkpoints are not supported by the stateful functions runtime");
        }
        return super.snapshotState(checkpointId, timestamp, options, factory);
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        pending.update(channel.unconsumedAt(context.getCheckpointId()));
    }

    @Override
    public void endInput() {
        int unconsumed = channel.unconsumedCount();
        if (unconsumed > 0) {
            throw new IllegalStateException(
                    unconsumed + " function-to-function messages were not delivered before the dispatcher finished");
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (channel != null) {
                channel.release();
            }
            if (quiescence != null) {
                quiescence.release(null);
            }
        } finally {
            super.close();
        }
    }
}
