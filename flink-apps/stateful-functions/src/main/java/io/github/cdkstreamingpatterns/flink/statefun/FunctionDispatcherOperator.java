package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;

/**
 * The heart of the runtime: owns every function instance's state and calls the remote functions.
 *
 * <p><b>Why a custom keyed operator with mailbox completion.</b> A remote call takes milliseconds to seconds, so the
 * operator cannot block on it, and {@code AsyncDataStream} cannot be used: its ordering is per subtask, not per key,
 * its results cannot update keyed state, and Flink 2 has no iterations to feed results back into a keyed operator.
 * This operator therefore performs the HTTP call itself ({@link java.net.http.HttpClient#sendAsync} on a bounded
 * worker pool) and hands the completion back to the task thread through the operator's {@link MailboxExecutor}. Every
 * read and write of keyed state happens on the task thread, interleaved with records, timers and checkpoints, so state
 * is always consistent when a checkpoint is taken.
 *
 * <p><b>State per address</b> (keyed by {@code "type/id"}): the function state (JSON text, absent = none), the
 * {@code stateVersion} (number of applied invocations, 0 when new), the egress sequence (last egress record number),
 * the buffer of pending messages, and the in-flight batch (messages of the call being made, with its failed-attempt
 * count). A message arriving while a batch is in flight is buffered; when the call completes, all buffered messages
 * go out together in the next call, with the updated state. One call per address at a time gives per-address order;
 * calls for different addresses run concurrently, at most {@code max.concurrent.calls} per subtask (the rest wait in a
 * FIFO queue).
 *
 * <p><b>Exactly-once state.</b> The in-flight batch is part of the checkpoint. After a restore, every address with an
 * in-flight batch is called again with the same messages, the same state and the same stateVersion. Functions must
 * therefore be deterministic per (address, stateVersion, messages) and free of side effects other than their response
 * (the response is what the runtime applies). A response is applied only if the stateVersion it was computed for is
 * still current; a stale response is discarded. Egress records and dead letters emitted after the last checkpoint may
 * be emitted again after a restore (sinks are at-least-once), with the same {@code eventId}; projections deduplicate
 * by sequence. Egress sequences and function-to-function message ids number what an address has emitted, so they do
 * not depend on how messages were batched into calls; a repeated record therefore has the same content when the
 * function's output depends only on the messages applied in order (not on their batching) and the replay delivers
 * the same per-address message order. That order holds for ingress (one Kinesis shard per aggregate); messages from
 * different senders to one address may interleave differently after a restore.
 *
 * <p><b>Function-to-function messages</b> leave through the {@link #FEEDBACK} side output, are keyed by their target,
 * and come back through {@link FeedbackTailOperator} and the in-JVM {@link FeedbackChannels} to the subtask that owns
 * the target. The tail stores messages that were handed over after this operator's snapshot, so a message is neither
 * lost nor applied twice across a restore (see {@link FeedbackChannels}). Unaligned checkpoints are not supported.
 * The loop is bounded per subtask by {@code max.pending.feedback}: at half of it this operator stops taking ingress
 * (it waits in {@link #processElement}, running mails, so feedback, call completions and retries go on and drain it),
 * and the tail dead-letters a message that arrives when the bound is reached ({@code FEEDBACK_OVERFLOW}).
 *
 * <p><b>Failures.</b> A non-2xx status, a timeout, a connection error or an invalid response body is retried with
 * exponential backoff and jitter (processing-time timers, so retries survive restarts) up to the function's
 * {@code maxAttempts}; then every message of the batch is dead-lettered with the reason of the last failure
 * ({@code HTTP_STATUS}, {@code TIMEOUT}, {@code UNREACHABLE}, {@code INVALID_RESPONSE}) and the address moves on to
 * its next messages with its state unchanged.
 *
 * <p><b>Structure.</b> This class is the Flink glue: keyed state, timers, the asynchronous calls, the mailbox and the
 * outputs. What a response does to an address is computed by {@link ResponseApplier}, the request body is built by
 * {@link InvocationRequestBuilder}, and the periodic export of the state is {@link StateExporter}'s.
 */
public final class FunctionDispatcherOperator extends AbstractStreamOperator<EgressRecord>
        implements OneInputStreamOperator<RoutedMessage, EgressRecord>,
                Triggerable<String, VoidNamespace>,
                BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(FunctionDispatcherOperator.class);

    public static final OutputTag<RoutedMessage> FEEDBACK =
            new OutputTag<>("statefun-feedback", TypeInformation.of(RoutedMessage.class));
    public static final OutputTag<DeadLetterRecord> DEAD_LETTERS =
            new OutputTag<>("statefun-dead-letters", TypeInformation.of(DeadLetterRecord.class));

    static final String STATE = "function-state";
    static final String VERSION = "state-version";
    static final String EGRESS_SEQUENCE = "egress-sequence";
    static final String MESSAGE_SEQUENCE = "message-sequence";
    static final String BUFFER = "pending-messages";
    static final String IN_FLIGHT = "in-flight-batch";
    static final String FAILED_ATTEMPTS = "failed-attempts";

    private final DispatcherConfig config;
    private final transient MailboxExecutor mailbox;

    private transient ValueState<String> functionState;
    private transient ValueStateDescriptor<Long> versionDescriptor;
    private transient ValueState<Long> stateVersion;
    private transient ValueState<Long> egressSequence;
    private transient ValueState<Long> messageSequence;
    private transient ListState<String> buffer;
    private transient ValueState<String> inFlight;
    private transient ValueState<Integer> failedAttempts;
    private transient InternalTimerService<VoidNamespace> retryTimers;

    // Task-thread-only bookkeeping, rebuilt from state after a restore.
    private transient Map<String, Long> runningCalls;
    private transient Set<String> waitingForRetry;
    private transient LinkedHashSet<String> waitingForSlot;
    private transient long callIds;
    private transient boolean restored;
    private transient RemoteFunctionClient client;
    private transient FeedbackChannels.Channel channel;
    private transient FeedbackChannels.Quiescence quiescence;
    private transient ResponseApplier applier;
    private transient StateExporter exporter;

    private transient StatefunMetrics metrics;
    private transient Counter messagesApplied;
    private transient Counter functionCalls;
    private transient Counter functionCallRetries;
    private transient Counter egressRecordsOut;
    private transient Counter feedbackMessages;
    private transient Counter ingressPauses;

    FunctionDispatcherOperator(StreamOperatorParameters<EgressRecord> parameters, DispatcherConfig config) {
        super(parameters);
        this.config = config;
        this.mailbox = parameters.getMailboxExecutor();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        restored = context.isRestored();
    }

    @Override
    public void open() throws Exception {
        super.open();
        functionState = state(new ValueStateDescriptor<>(STATE, Types.STRING));
        versionDescriptor = new ValueStateDescriptor<>(VERSION, Types.LONG);
        stateVersion = state(versionDescriptor);
        egressSequence = state(new ValueStateDescriptor<>(EGRESS_SEQUENCE, Types.LONG));
        messageSequence = state(new ValueStateDescriptor<>(MESSAGE_SEQUENCE, Types.LONG));
        buffer = getPartitionedState(
                VoidNamespace.INSTANCE,
                VoidNamespaceSerializer.INSTANCE,
                new ListStateDescriptor<>(BUFFER, Types.STRING));
        inFlight = state(new ValueStateDescriptor<>(IN_FLIGHT, Types.STRING));
        failedAttempts = state(new ValueStateDescriptor<>(FAILED_ATTEMPTS, Types.INT));
        retryTimers = getInternalTimerService("statefun-retries", VoidNamespaceSerializer.INSTANCE, this);

        runningCalls = new HashMap<>();
        waitingForRetry = new HashSet<>();
        waitingForSlot = new LinkedHashSet<>();
        registerMetrics();
        RequestSigner signer = config.signingRegion() == null
                ? null
                : new SigV4RequestSigner(
                        config.signingRegion(),
                        DefaultCredentialsProvider.builder().build());
        client = new RemoteFunctionClient(Math.max(2, Math.min(config.maxConcurrentCalls(), 16)), signer);
        applier = new ResponseApplier(config.module());

        String jobId = getRuntimeContext().getJobInfo().getJobId().toString();
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        quiescence = FeedbackChannels.quiescence(
                FeedbackChannels.jobKey(config.pipelineName(), jobId, attempt), parallelism);
        channel = FeedbackChannels.channel(FeedbackChannels.channelKey(config.pipelineName(), jobId, subtask, attempt));
        channel.acquire();
        FeedbackChannels.Channel pendingSource = channel;
        metrics.group().gauge(StatefunMetrics.PENDING_FEEDBACK, (Gauge<Long>) pendingSource::pending);
        metrics.group().gauge(StatefunMetrics.PENDING_FEEDBACK_PEAK, (Gauge<Long>) pendingSource::peak);

        long restoredMessages = restored ? resumeRestoredWork() : 0;
        quiescence.register(restoredMessages);
        channel.register(mailbox, this::acceptFeedback);

        if (config.stateExport() != null) {
            exporter = new StateExporter(config.stateExport());
            scheduleExport();
        }
    }

    private void registerMetrics() {
        metrics = new StatefunMetrics(getRuntimeContext().getMetricGroup(), StatefunMetrics.DISPATCHER_REASONS);
        messagesApplied = metrics.counter(StatefunMetrics.MESSAGES_APPLIED);
        functionCalls = metrics.counter(StatefunMetrics.FUNCTION_CALLS);
        functionCallRetries = metrics.counter(StatefunMetrics.FUNCTION_CALL_RETRIES);
        egressRecordsOut = metrics.counter(StatefunMetrics.EGRESS_RECORDS);
        feedbackMessages = metrics.counter(StatefunMetrics.FEEDBACK_MESSAGES);
        // Read by the metric reporter thread: a stale size is fine for a gauge.
        metrics.group().gauge(StatefunMetrics.IN_FLIGHT_CALLS, (Gauge<Integer>) () -> runningCalls.size());
        metrics.group().gauge(StatefunMetrics.BUFFERED_ADDRESSES, (Gauge<Integer>) () -> waitingForSlot.size());
        ingressPauses = metrics.counter(StatefunMetrics.INGRESS_PAUSES);
    }

    private <T> ValueState<T> state(ValueStateDescriptor<T> descriptor) throws Exception {
        return getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, descriptor);
    }

    /** Re-sends every in-flight batch from the checkpoint; returns how many messages the restored state holds. */
    private long resumeRestoredWork() throws Exception {
        Set<String> keys = new LinkedHashSet<>();
        try (var inFlightKeys = getKeyedStateBackend().<VoidNamespace>getKeys(IN_FLIGHT, VoidNamespace.INSTANCE);
                var bufferedKeys = getKeyedStateBackend().<VoidNamespace>getKeys(BUFFER, VoidNamespace.INSTANCE)) {
            inFlightKeys.forEach(k -> keys.add((String) k));
            bufferedKeys.forEach(k -> keys.add((String) k));
        }
        long messages = 0;
        long feedback = 0;
        for (String address : keys) {
            setCurrentKey(address);
            String batch = inFlight.value();
            List<String> buffered = bufferedMessages();
            messages += buffered.size() + (batch == null ? 0 : Json.read(batch).size());
            feedback += (batch == null ? 0 : ResponseApplier.feedbackCount(Json.read(batch)));
            for (String message : buffered) {
                feedback += ResponseApplier.isFeedback(Json.read(message)) ? 1 : 0;
            }
            if (batch != null) {
                enqueueCall(address);
            } else if (!buffered.isEmpty()) {
                startBatch(address);
            }
        }
        channel.restoredPending(feedback);
        LOG.info(
                "Restored {} addresses with {} unfinished messages ({} function-to-function); resending their in-flight calls",
                keys.size(),
                messages,
                feedback);
        return messages;
    }

    @Override
    public void processElement(StreamRecord<RoutedMessage> element) throws Exception {
        if (channel.pending() >= config.ingressPauseThreshold()) {
            // Backpressure: do not return (so the next ingress record is not taken) until feedback has drained below
            // the threshold. Mails keep running meanwhile: feedback hand-overs, call completions and retry timers are
            // all mails, and every pending message is in one of them or in a batch waiting for one, so this ends.
            ingressPauses.inc();
            while (channel.pending() >= config.ingressPauseThreshold()) {
                mailbox.yield();
            }
            // The mails set other keys.
            setCurrentKey(element.getValue().addressKey());
        }
        quiescence.add(1);
        accept(element.getValue().addressKey(), element.getValue());
    }

    /** Runs on the task thread (mail from the feedback channel). */
    private void acceptFeedback(long sequence, RoutedMessage message) throws Exception {
        setCurrentKey(message.addressKey());
        accept(message.addressKey(), message);
        channel.consumed(sequence);
    }

    private void accept(String address, RoutedMessage message) throws Exception {
        buffer.add(message.messageJson);
        if (inFlight.value() == null) {
            startBatch(address);
        }
    }

    private List<String> bufferedMessages() throws Exception {
        List<String> messages = new ArrayList<>();
        Iterable<String> stored = buffer.get();
        if (stored != null) {
            stored.forEach(messages::add);
        }
        return messages;
    }

    /** Moves all buffered messages into a new in-flight batch and schedules the call. Key context must be set. */
    private void startBatch(String address) throws Exception {
        List<String> messages = bufferedMessages();
        if (messages.isEmpty()) {
            return;
        }
        inFlight.update(InvocationRequestBuilder.batch(messages));
        buffer.clear();
        failedAttempts.clear();
        enqueueCall(address);
    }

    private void enqueueCall(String address) throws Exception {
        if (runningCalls.size() < config.maxConcurrentCalls()) {
            call(address);
        } else {
            waitingForSlot.add(address);
        }
    }

    private void call(String address) throws Exception {
        waitingForRetry.remove(address);
        waitingForSlot.remove(address);
        Address target = Address.fromKey(address);
        String batch = inFlight.value();
        var spec = config.module().function(target.type());
        if (spec.isEmpty()) {
            // Only possible when a restored state belongs to a function type removed from module.json.
            finishFailedBatch(
                    address,
                    batch,
                    DeadLetters.UNKNOWN_FUNCTION,
                    "function type '" + target.type() + "' is not in module.json");
            return;
        }
        long version = currentVersion();
        String state = functionState.value();
        byte[] request = InvocationRequestBuilder.body(target, state, version, batch);
        long callId = ++callIds;
        runningCalls.put(address, callId);
        functionCalls.inc();
        Integer failedBefore = failedAttempts.value();
        if (failedBefore != null && failedBefore > 0) {
            functionCallRetries.inc();
        }
        client.invoke(spec.get(), request).thenAccept(outcome -> {
            try {
                mailbox.execute(() -> onCallCompleted(address, callId, version, outcome), "statefun call %s", address);
            } catch (RejectedExecutionException closed) {
                // The operator is shutting down; the in-flight batch is in the checkpoint and is re-sent on restore.
            }
        });
    }

    private long currentVersion() throws Exception {
        Long version = stateVersion.value();
        return version == null ? 0L : version;
    }

    private void onCallCompleted(String address, long callId, long sentVersion, InvocationOutcome outcome)
            throws Exception {
        Long running = runningCalls.get(address);
        if (running == null || running != callId) {
            return;
        }
        runningCalls.remove(address);
        setCurrentKey(address);
        String batch = inFlight.value();
        if (batch == null || currentVersion() != sentVersion) {
            LOG.warn("Discarding response for {} computed for stale stateVersion {}", address, sentVersion);
        } else if (outcome.succeeded()) {
            applyResponse(address, sentVersion, batch, outcome.response);
        } else {
            handleFailure(address, batch, outcome);
        }
        callWaiting();
    }

    private void callWaiting() throws Exception {
        while (runningCalls.size() < config.maxConcurrentCalls() && !waitingForSlot.isEmpty()) {
            String next = waitingForSlot.iterator().next();
            waitingForSlot.remove(next);
            setCurrentKey(next);
            call(next);
        }
    }

    private void handleFailure(String address, String batch, InvocationOutcome outcome) throws Exception {
        Integer failedBefore = failedAttempts.value();
        int failed = (failedBefore == null ? 0 : failedBefore) + 1;
        int maxAttempts = config.module()
                .function(Address.fromKey(address).type())
                .map(ModuleDefinition.FunctionSpec::maxAttempts)
                .orElse(1);
        if (failed < maxAttempts) {
            failedAttempts.update(failed);
            waitingForRetry.add(address);
            long delay = config.backoff().delayMillis(failed);
            LOG.debug(
                    "Call to {} failed ({}: {}); attempt {} of {} in {} ms",
                    address,
                    outcome.failureReason,
                    outcome.failureDetail,
                    failed + 1,
                    maxAttempts,
                    delay);
            retryTimers.registerProcessingTimeTimer(
                    VoidNamespace.INSTANCE, getProcessingTimeService().getCurrentProcessingTime() + delay);
        } else {
            LOG.warn(
                    "Call to {} failed {} times ({}: {}); dead-lettering the batch",
                    address,
                    failed,
                    outcome.failureReason,
                    outcome.failureDetail);
            finishFailedBatch(
                    address, batch, outcome.failureReason, "after " + failed + " attempt(s): " + outcome.failureDetail);
        }
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        String address = timer.getKey();
        if (waitingForRetry.contains(address) && !runningCalls.containsKey(address) && inFlight.value() != null) {
            waitingForRetry.remove(address);
            enqueueCall(address);
        }
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // Event time is not used.
    }

    private void finishFailedBatch(String address, String batch, String reason, String detail) throws Exception {
        JsonNode messages = Json.read(batch);
        for (DeadLetterRecord deadLetter :
                ResponseApplier.failedBatch(address, messages, reason, detail, System.currentTimeMillis())) {
            output.collect(DEAD_LETTERS, new StreamRecord<>(deadLetter));
            metrics.messageDeadLettered(reason);
        }
        quiescence.add(-messages.size());
        channel.finished(ResponseApplier.feedbackCount(messages));
        finishBatch(address);
    }

    private void finishBatch(String address) throws Exception {
        inFlight.clear();
        failedAttempts.clear();
        startBatch(address);
    }

    /** Applies a successful response (see {@link ResponseApplier}): state, outputs, metrics, then the next batch. */
    private void applyResponse(String address, long sentVersion, String batchJson, FunctionResponse response)
            throws Exception {
        Long lastSequence = egressSequence.value();
        Long lastMessage = messageSequence.value();
        ResponseApplier.StateTransition t = applier.apply(
                address,
                sentVersion,
                batchJson,
                response,
                lastSequence == null ? 0 : lastSequence,
                lastMessage == null ? 0 : lastMessage,
                System.currentTimeMillis());
        if (t.failure != null) {
            handleFailure(address, batchJson, t.failure);
            return;
        }
        if (t.state == null) {
            functionState.clear();
        } else {
            functionState.update(t.state);
        }
        stateVersion.update(t.stateVersion);
        messageSequence.update(t.messageSequence);
        egressSequence.update(t.egressSequence);

        feedbackMessages.inc(t.messagesSent);
        for (RoutedMessage message : t.feedback) {
            output.collect(FEEDBACK, new StreamRecord<>(message));
        }
        for (EgressRecord record : t.egress) {
            output.collect(new StreamRecord<>(record));
            egressRecordsOut.inc();
        }
        for (ResponseApplier.DeadLetter deadLetter : t.deadLetters) {
            output.collect(DEAD_LETTERS, new StreamRecord<>(deadLetter.record()));
            if (deadLetter.message()) {
                metrics.messageDeadLettered(deadLetter.record().reason);
            } else {
                metrics.otherDeadLettered(deadLetter.record().reason);
            }
        }
        messagesApplied.inc(t.messagesApplied);
        quiescence.add(t.feedback.size() - t.batchSize);
        channel.finished(t.feedbackInBatch);
        finishBatch(address);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        channel.markCheckpoint(checkpointId);
    }

    /**
     * Bounded input (local runs, tests): wait until every dispatcher's work, including function-to-function messages,
     * is done, because after this operator finishes it cannot receive messages any more.
     */
    @Override
    public void endInput() throws Exception {
        quiescence.inputEnded(mailbox);
        while (!quiescence.quiet()) {
            mailbox.yield();
        }
        if (config.stateExport() != null) {
            // Bounded runs end with a complete export of the final state.
            exportState(getProcessingTimeService().getCurrentProcessingTime()).get();
        }
    }

    private void scheduleExport() {
        long next = getProcessingTimeService().getCurrentProcessingTime() + exporter.intervalMs();
        getProcessingTimeService().registerTimer(next, time -> {
            exportState(time);
            scheduleExport();
        });
    }

    /** Collects every address's state on the task thread (see {@link StateExporter}) and uploads it in the background. */
    private java.util.concurrent.Future<?> exportState(long exportedAt) throws Exception {
        StateExporter.Snapshot snapshot = new StateExporter.Snapshot();
        this.<String>getKeyedStateBackend()
                .applyToAllKeys(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        versionDescriptor,
                        (String key, ValueState<Long> version) -> {
                            Long v = version.value();
                            if (v != null) {
                                snapshot.add(key, v, functionState.value());
                            }
                        });
        return exporter.upload(
                snapshot, exportedAt, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
    }

    @Override
    public void close() throws Exception {
        try {
            if (client != null) {
                client.close();
            }
            if (exporter != null) {
                exporter.close();
            }
            if (channel != null) {
                channel.consumerClosed();
                channel.release();
            }
            if (quiescence != null) {
                quiescence.release(mailbox);
            }
        } finally {
            super.close();
        }
    }
}
