package io.github.cdkstreamingpatterns.flink.statefun;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * The runtime's metrics. Managed Service for Apache Flink forwards to CloudWatch only metrics registered under the
 * group {@value #CLOUDWATCH_GROUP}; the ("Pipeline", {@value #PIPELINE}) group becomes a CloudWatch dimension. Each
 * operator registers the counters it updates; CloudWatch sums them per name. The names are listed in the README.
 *
 * <p>Accounting, for a run without restarts: every message (an ingress envelope or a message a function sent) ends
 * applied, dead-lettered or, for an envelope, dropped as a duplicate of an eventId already accepted for its address, so
 * {@code messagesReceived + feedbackMessages = messagesApplied + messagesDeadLettered + ingressDuplicates} once the
 * runtime is idle ({@code ingressDuplicateConflicts} counts the duplicates whose content differed from the first). Dead-lettered egress entries (reason {@code UNKNOWN_EGRESS}) are not messages: they count
 * only under {@code deadLetterReason.UNKNOWN_EGRESS}. Counters start at 0 after a restart, and work re-done after a
 * restore is counted again.
 */
final class StatefunMetrics {
    static final String CLOUDWATCH_GROUP = "kinesisanalytics";
    static final String PIPELINE_KEY = "Pipeline";
    static final String PIPELINE = "stateful-functions";

    static final String MESSAGES_RECEIVED = "messagesReceived";
    static final String MESSAGES_APPLIED = "messagesApplied";
    static final String MESSAGES_DEAD_LETTERED = "messagesDeadLettered";
    static final String DEAD_LETTER_REASON = "deadLetterReason";
    static final String FUNCTION_CALLS = "functionCalls";
    static final String FUNCTION_CALL_RETRIES = "functionCallRetries";
    static final String EGRESS_RECORDS = "egressRecords";
    static final String FEEDBACK_MESSAGES = "feedbackMessages";
    static final String IN_FLIGHT_CALLS = "inFlightCalls";
    static final String BUFFERED_ADDRESSES = "bufferedAddresses";
    static final String PENDING_FEEDBACK = "pendingFeedback";
    static final String PENDING_FEEDBACK_PEAK = "pendingFeedbackPeak";
    static final String INGRESS_PAUSES = "ingressPauses";
    static final String INGRESS_DUPLICATES = "ingressDuplicates";
    static final String INGRESS_DUPLICATE_CONFLICTS = "ingressDuplicateConflicts";

    /** Reasons the ingress router dead-letters with. */
    static final List<String> INGRESS_REASONS =
            List.of(DeadLetters.MALFORMED_JSON, DeadLetters.SCHEMA, DeadLetters.UNKNOWN_EVENT_TYPE);

    /** Reasons the dispatcher dead-letters with. */
    static final List<String> DISPATCHER_REASONS = List.of(
            DeadLetters.UNKNOWN_FUNCTION,
            DeadLetters.UNKNOWN_EGRESS,
            DeadLetters.HTTP_STATUS,
            DeadLetters.TIMEOUT,
            DeadLetters.UNREACHABLE,
            DeadLetters.INVALID_RESPONSE,
            DeadLetters.REJECTED);

    /** Reasons the feedback tail dead-letters with. */
    static final List<String> FEEDBACK_REASONS = List.of(DeadLetters.FEEDBACK_OVERFLOW);

    private final MetricGroup group;
    private final Counter messagesDeadLettered;
    private final MetricGroup byReason;
    private final Map<String, Counter> reasons = new HashMap<>();

    /** Registers messagesDeadLettered and deadLetterReason.&lt;reason&gt; (at 0, so alarms see data) for the given reasons. */
    StatefunMetrics(MetricGroup operatorGroup, List<String> deadLetterReasons) {
        this.group = group(operatorGroup);
        this.messagesDeadLettered = group.counter(MESSAGES_DEAD_LETTERED);
        this.byReason = group.addGroup(DEAD_LETTER_REASON);
        deadLetterReasons.forEach(this::reason);
    }

    static MetricGroup group(MetricGroup operatorGroup) {
        return operatorGroup.addGroup(CLOUDWATCH_GROUP).addGroup(PIPELINE_KEY, PIPELINE);
    }

    MetricGroup group() {
        return group;
    }

    Counter counter(String name) {
        return group.counter(name);
    }

    /** One dead-letter record that is a message (envelope or function message) not applied. */
    void messageDeadLettered(String reason) {
        messagesDeadLettered.inc();
        reason(reason).inc();
    }

    /** One dead-letter record that is not a message (an egress entry for an unknown egress). */
    void otherDeadLettered(String reason) {
        reason(reason).inc();
    }

    private Counter reason(String reason) {
        // A metric name may be registered once per group; reasons from elsewhere (future codes) register on first use.
        return reasons.computeIfAbsent(reason, byReason::counter);
    }
}
