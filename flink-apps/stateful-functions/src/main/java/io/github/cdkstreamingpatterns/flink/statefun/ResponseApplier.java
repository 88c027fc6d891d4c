package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a function's response does to its address, without Flink: the new state and stateVersion, the next egress and
 * message sequences, and the records to emit (function-to-function messages, egress records, dead letters), as a
 * {@link StateTransition} the dispatcher writes to keyed state and its outputs. Also the dead letters of a batch that
 * failed for good.
 *
 * <p>Egress records are built before anything is applied: one too large for Kinesis would fail the sink (and the
 * job, after every restart), so such a response is invalid ({@link StateTransition#failure}): retried, then
 * dead-lettered, with the state as it was. Egress sequences and message ids number what an address has emitted, so a
 * replay that batches the same input differently still gives the n-th record the same id.
 */
final class ResponseApplier {
    private static final Logger LOG = LoggerFactory.getLogger(ResponseApplier.class);

    private final ModuleDefinition module;

    ResponseApplier(ModuleDefinition module) {
        this.module = module;
    }

    /** A dead letter to emit; {@code message} says whether it is one of the messages (for the metrics). */
    record DeadLetter(DeadLetterRecord record, boolean message) {}

    /** The outcome of applying a response; the lists are in emission order. */
    static final class StateTransition {
        /** Set when the response cannot be applied: treat it as a failed call. Nothing else is set then. */
        final InvocationOutcome failure;
        /** The new state as JSON text; null deletes it. */
        final String state;

        final long stateVersion;
        final long egressSequence;
        final long messageSequence;
        final List<RoutedMessage> feedback;
        final List<EgressRecord> egress;
        final List<DeadLetter> deadLetters;
        /** Messages the function sent, including those dead-lettered for an unknown function type. */
        final int messagesSent;
        /** Messages of the batch applied (not rejected). */
        final int messagesApplied;

        final int batchSize;
        /** Messages of the batch that came through the feedback loop. */
        final int feedbackInBatch;

        private StateTransition(
                InvocationOutcome failure,
                String state,
                long stateVersion,
                long egressSequence,
                long messageSequence,
                List<RoutedMessage> feedback,
                List<EgressRecord> egress,
                List<DeadLetter> deadLetters,
                int messagesSent,
                int messagesApplied,
                int batchSize,
                int feedbackInBatch) {
            this.failure = failure;
            this.state = state;
            this.stateVersion = stateVersion;
            this.egressSequence = egressSequence;
            this.messageSequence = messageSequence;
            this.feedback = Collections.unmodifiableList(feedback);
            this.egress = Collections.unmodifiableList(egress);
            this.deadLetters = Collections.unmodifiableList(deadLetters);
            this.messagesSent = messagesSent;
            this.messagesApplied = messagesApplied;
            this.batchSize = batchSize;
            this.feedbackInBatch = feedbackInBatch;
        }

        private static StateTransition failed(InvocationOutcome failure) {
            return new StateTransition(failure, null, 0, 0, 0, List.of(), List.of(), List.of(), 0, 0, 0, 0);
        }
    }

    /**
     * @param address the address key ({@code "type/id"})
     * @param sentVersion the stateVersion the response was computed for (the current one)
     * @param batchJson the in-flight batch the response answers
     * @param lastEgressSequence the last egress sequence of the address, 0 when none
     * @param lastMessageSequence the last message number of the address, 0 when none
     * @param now timestamp of the egress records and dead letters
     */
    StateTransition apply(
            String address,
            long sentVersion,
            String batchJson,
            FunctionResponse response,
            long lastEgressSequence,
            long lastMessageSequence,
            long now) {
        Address self = Address.fromKey(address);

        long sequence = lastEgressSequence;
        List<EgressRecord> egressRecords = new ArrayList<>(response.egress.size());
        for (int i = 0; i < response.egress.size(); i++) {
            FunctionResponse.EgressMessage e = response.egress.get(i);
            if (!module.egress().containsKey(e.egress)) {
                egressRecords.add(null);
                continue;
            }
            sequence++;
            EgressRecord record = new EgressRecord(e.egress, e.partitionKey, egressJson(self, sequence, e, now));
            String tooLarge = tooLargeForKinesis(record);
            if (tooLarge != null) {
                return StateTransition.failed(
                        InvocationOutcome.failure(DeadLetters.INVALID_RESPONSE, "egress[" + i + "] " + tooLarge));
            }
            egressRecords.add(record);
        }

        JsonNode batch = Json.read(batchJson);
        List<DeadLetter> deadLetters = new ArrayList<>();

        List<RoutedMessage> feedback = new ArrayList<>(response.messages.size());
        long messageNumber = lastMessageSequence;
        for (FunctionResponse.OutgoingMessage m : response.messages) {
            messageNumber++;
            String id = address + "/" + messageNumber;
            ObjectNode message = Json.object();
            message.put("id", id);
            message.put("type", m.type);
            message.set("from", self.toJson());
            message.set("payload", m.payload);
            if (module.function(m.to.type()).isEmpty()) {
                ObjectNode dead = Json.object();
                dead.set("address", m.to.toJson());
                dead.set("message", message);
                deadLetters.add(new DeadLetter(
                        DeadLetters.of(
                                DeadLetters.UNKNOWN_FUNCTION,
                                "message from " + address + " to unknown function type '" + m.to.type() + "'",
                                m.to.key(),
                                Json.write(dead),
                                now),
                        true));
                continue;
            }
            feedback.add(new RoutedMessage(m.to, id, Json.write(message)));
        }

        List<EgressRecord> egress = new ArrayList<>(egressRecords.size());
        for (int i = 0; i < response.egress.size(); i++) {
            FunctionResponse.EgressMessage e = response.egress.get(i);
            EgressRecord record = egressRecords.get(i);
            if (record == null) {
                ObjectNode dead = Json.object();
                dead.put("egress", e.egress);
                dead.put("partitionKey", e.partitionKey);
                dead.put("type", e.type);
                dead.set("payload", e.payload);
                deadLetters.add(new DeadLetter(
                        DeadLetters.of(
                                DeadLetters.UNKNOWN_EGRESS,
                                "egress '" + e.egress + "' from " + address + " is not in module.json",
                                address,
                                Json.write(dead),
                                now),
                        false));
                continue;
            }
            egress.add(record);
        }

        int rejected = 0;
        if (!response.rejected.isEmpty()) {
            Map<String, JsonNode> byId = new LinkedHashMap<>();
            for (JsonNode message : batch) {
                byId.put(message.path("id").asText(), message);
            }
            for (FunctionResponse.Rejection rejection : response.rejected) {
                JsonNode message = byId.remove(rejection.messageId);
                if (message == null) {
                    LOG.warn(
                            "Function {} rejected message id {} that was not in its batch",
                            address,
                            rejection.messageId);
                    continue;
                }
                deadLetters.add(new DeadLetter(
                        DeadLetters.of(
                                DeadLetters.REJECTED, rejection.reason, address, messagePayload(address, message), now),
                        true));
                rejected++;
            }
        }

        String state = response.state == null ? null : Json.write(response.state);
        // The version keeps counting after a delete so (address, stateVersion) never repeats for different input.
        return new StateTransition(
                null,
                state,
                sentVersion + 1,
                sequence,
                messageNumber,
                feedback,
                egress,
                deadLetters,
                response.messages.size(),
                batch.size() - rejected,
                batch.size(),
                feedbackCount(batch));
    }

    /** Dead letters for every message of a batch that failed for good (or whose function type is gone). */
    static List<DeadLetterRecord> failedBatch(String address, JsonNode batch, String reason, String detail, long now) {
        List<DeadLetterRecord> deadLetters = new ArrayList<>(batch.size());
        for (JsonNode message : batch) {
            deadLetters.add(DeadLetters.of(reason, detail, address, messagePayload(address, message), now));
        }
        return deadLetters;
    }

    /** Why the record cannot be written to Kinesis, or null when it fits (data plus partition key). */
    static String tooLargeForKinesis(EgressRecord record) {
        long max = FunctionResponse.MAX_RECORD_BYTES;
        // UTF-8 takes at most 3 bytes per UTF-16 char: below that bound there is nothing to measure.
        if (3L * (record.json.length() + record.partitionKey.length()) <= max) {
            return null;
        }
        long size = Json.utf8Length(record.json) + Json.utf8Length(record.partitionKey);
        return size <= max
                ? null
                : "record for egress '" + record.egress + "' is " + size
                        + " bytes with its partition key, over the Kinesis record limit of " + max;
    }

    static String egressJson(Address self, long sequence, FunctionResponse.EgressMessage e, long now) {
        ObjectNode record = Json.object();
        record.put("eventId", self.key() + "/" + sequence);
        record.put("type", e.type);
        record.put("aggregateType", self.type());
        record.put("aggregateId", self.id());
        record.put("sequence", sequence);
        record.put("occurredAt", now);
        record.set("payload", e.payload);
        return Json.write(record);
    }

    /** Dead-letter payload for a message: the message as sent to the function, with the address it was sent to. */
    static String messagePayload(String address, JsonNode message) {
        ObjectNode node = Json.object();
        node.set("address", Address.fromKey(address).toJson());
        node.set("message", message);
        return Json.write(node);
    }

    /** Messages of a batch that came through the feedback loop (ingress messages have {@code "from": null}). */
    static int feedbackCount(JsonNode batch) {
        int n = 0;
        for (JsonNode message : batch) {
            n += isFeedback(message) ? 1 : 0;
        }
        return n;
    }

    static boolean isFeedback(JsonNode message) {
        JsonNode from = message.get("from");
        return from != null && !from.isNull();
    }
}
