package io.github.cdkstreamingpatterns.flink.statefun;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.operators.MailboxExecutor;

/**
 * In-JVM hand-over from the feedback tail (which receives function-to-function messages after a keyBy) to the
 * co-located function dispatcher subtask that owns those keys. Flink 2 has no iterations, so the loop is closed here,
 * like Apache StateFun's feedback channel: both operators share a co-location group, therefore subtask i of the tail
 * and subtask i of the dispatcher always run in the same slot, and keyBy routes a key to the same subtask index in
 * both (same parallelism and max parallelism).
 *
 * <p>Checkpoint safety: a message emitted by the dispatcher before checkpoint barrier N but handed over after the
 * dispatcher snapshotted N is in neither the dispatcher's state nor in flight after a restore. The channel therefore
 * numbers every message, the dispatcher records the last number it consumed when it takes checkpoint N
 * ({@link Channel#markCheckpoint}, called in prepareSnapshotPreBarrier, i.e. before the barrier leaves the
 * dispatcher), and the tail, when it snapshots N (after barrier N from every dispatcher, so after every message
 * emitted before it), stores exactly the messages with a higher number. This requires aligned checkpoints.
 *
 * <p><b>Bound.</b> Each channel counts the messages its dispatcher holds from the loop: handed over and not yet applied
 * or dead-lettered ({@link Channel#pending}). The hand-over itself cannot wait for room: the dispatcher that frees room
 * is the task that feeds the loop, so a blocked tail would backpressure that dispatcher's feedback output, stop its
 * task thread and with it the draining (a cycle, i.e. a deadlock), and a single response may carry more messages than
 * any bound. So the bound works in two steps: the dispatcher stops taking ingress at half of it while it goes on
 * draining feedback (backpressure on the source), and {@link Channel#offer} refuses a message once the dispatcher
 * holds {@code max.pending.feedback}; the tail dead-letters a refused message with {@code FEEDBACK_OVERFLOW}.
 */
final class FeedbackChannels {
    private static final Map<String, Channel> CHANNELS = new ConcurrentHashMap<>();
    private static final Map<String, Quiescence> QUIESCENCE = new ConcurrentHashMap<>();

    private FeedbackChannels() {}

    static String channelKey(String pipeline, String jobId, int subtask, int attempt) {
        return pipeline + "|" + jobId + "|" + subtask + "|" + attempt;
    }

    static String jobKey(String pipeline, String jobId, int attempt) {
        return pipeline + "|" + jobId + "|" + attempt;
    }

    static Channel channel(String key) {
        return CHANNELS.computeIfAbsent(key, k -> new Channel(k));
    }

    static Quiescence quiescence(String key, int parallelism) {
        return QUIESCENCE.computeIfAbsent(key, k -> new Quiescence(k, parallelism));
    }

    /** Receives messages on the dispatcher's task thread. */
    interface Consumer {
        void accept(long sequence, RoutedMessage message) throws Exception;
    }

    /** One dispatcher subtask's channel. All methods are synchronized: one producer thread, one consumer thread. */
    static final class Channel {
        private final String key;
        private final NavigableMap<Long, RoutedMessage> log = new TreeMap<>();
        private final ArrayDeque<Long> undelivered = new ArrayDeque<>();
        // checkpoint id -> last sequence consumed by the dispatcher when it took that checkpoint
        private final NavigableMap<Long, Long> marks = new TreeMap<>();
        private MailboxExecutor mailbox;
        private Consumer consumer;
        private boolean consumerClosed;
        private long nextSequence = 1;
        private long lastConsumed;
        private int users;
        // Messages the dispatcher holds from the loop (handed over, not yet applied or dead-lettered), and its peak.
        private long pending;
        private long peak;

        private Channel(String key) {
            this.key = key;
        }

        synchronized void acquire() {
            users++;
        }

        /** Drops the channel from the registry once both sides have released it. */
        synchronized void release() {
            users--;
            if (users <= 0) {
                CHANNELS.remove(key, this);
            }
        }

        /**
         * Tail side: hands a message over unless the dispatcher already holds {@code bound} messages from the loop;
         * returns false, and keeps nothing, when it does. Fails when the dispatcher is already gone.
         */
        synchronized boolean offer(RoutedMessage message, long bound) {
            if (pending >= bound) {
                return false;
            }
            put(message);
            return true;
        }

        /**
         * Tail side: hands a message over whatever the bound (restored messages: they were admitted once, and refusing
         * them now would make their fate depend on a failure). Fails when the dispatcher is already gone (it would be lost).
         */
        synchronized void put(RoutedMessage message) {
            if (consumerClosed) {
                throw new IllegalStateException("function dispatcher " + key
                        + " is closed (finished, or failed and being restarted); feedback message " + message
                        + " cannot be delivered");
            }
            long sequence = nextSequence++;
            log.put(sequence, message);
            addPending(1);
            if (consumer == null) {
                undelivered.add(sequence);
            } else {
                deliver(sequence, message);
            }
        }

        private void deliver(long sequence, RoutedMessage message) {
            Consumer target = consumer;
            try {
                mailbox.execute(() -> target.accept(sequence, message), "statefun feedback %s", message);
            } catch (RejectedExecutionException e) {
                throw new IllegalStateException("function dispatcher " + key + " no longer accepts feedback", e);
            }
        }

        private void addPending(long delta) {
            pending += delta;
            peak = Math.max(peak, pending);
        }

        /** Dispatcher side: feedback messages found in its restored state (they count against the bound). */
        synchronized void restoredPending(long messages) {
            addPending(messages);
        }

        /** Dispatcher side: this many feedback messages were applied or dead-lettered. */
        synchronized void finished(long messages) {
            // Never below 0: a miscount must not fail the job (a restart would not fix it), only loosen the bound.
            pending = Math.max(0, pending - messages);
        }

        synchronized long pending() {
            return pending;
        }

        /** Highest {@link #pending} since the channel was created (sizing and tests). */
        synchronized long peak() {
            return peak;
        }

        /** Dispatcher side: starts receiving, including anything put before it registered. */
        synchronized void register(MailboxExecutor mailbox, Consumer consumer) {
            this.mailbox = mailbox;
            this.consumer = consumer;
            while (!undelivered.isEmpty()) {
                long sequence = undelivered.poll();
                deliver(sequence, log.get(sequence));
            }
        }

        /** Dispatcher side, task thread: the message with this sequence is now part of the dispatcher's state. */
        synchronized void consumed(long sequence) {
            lastConsumed = sequence;
            if (marks.isEmpty()) {
                // No checkpoint is between the dispatcher's and the tail's snapshot: nobody needs it any more.
                log.headMap(sequence, true).clear();
            }
        }

        /** Dispatcher side, before its checkpoint barrier leaves. */
        synchronized void markCheckpoint(long checkpointId) {
            marks.put(checkpointId, lastConsumed);
        }

        /** Tail side, while snapshotting: messages handed over but not in the dispatcher's snapshot of this checkpoint. */
        synchronized List<RoutedMessage> unconsumedAt(long checkpointId) {
            Long mark = marks.get(checkpointId);
            if (mark == null) {
                if (consumerClosed && log.isEmpty()) {
                    return List.of();
                }
                throw new IllegalStateException(
                        "function dispatcher " + key + " did not take checkpoint " + checkpointId
                                + " before the feedback tail (are unaligned checkpoints enabled? they are not supported)");
            }
            List<RoutedMessage> pending =
                    new ArrayList<>(log.tailMap(mark, false).values());
            // Marks of this and older (possibly aborted) checkpoints are done with.
            marks.headMap(checkpointId, true).clear();
            long prunable = marks.isEmpty()
                    ? lastConsumed
                    : Math.min(lastConsumed, marks.firstEntry().getValue());
            log.headMap(prunable, true).clear();
            return pending;
        }

        /** Dispatcher side: it finished or failed; later puts fail loudly rather than lose messages. */
        synchronized void consumerClosed() {
            consumerClosed = true;
            consumer = null;
            mailbox = null;
        }

        /** Messages handed over but never consumed (non-empty only if the dispatcher finished too early). */
        synchronized int unconsumedCount() {
            return log.tailMap(lastConsumed, false).size();
        }
    }

    /**
     * Detects the end of all work when the input is bounded (local runs, tests): every dispatcher has seen the end of
     * its input, every dispatcher and tail has registered its restored work, and no message is buffered, in a call,
     * or travelling through the feedback loop. Dispatchers wait for this in endInput, because once one finishes it
     * can no longer receive function-to-function messages. The counter lives in this JVM, so bounded inputs drain
     * correctly only when all subtasks run in one JVM; production sources (Kinesis) are unbounded and never end.
     */
    static final class Quiescence {
        private final String key;
        private final int parallelism;
        private final AtomicLong outstanding = new AtomicLong();
        private final AtomicInteger registered = new AtomicInteger();
        private final AtomicInteger inputsEnded = new AtomicInteger();
        private final AtomicInteger users = new AtomicInteger();
        private final Set<MailboxExecutor> waiters = ConcurrentHashMap.newKeySet();

        private Quiescence(String key, int parallelism) {
            this.key = key;
            this.parallelism = parallelism;
        }

        /** Each dispatcher and tail calls this once, with the number of messages it restored. */
        void register(long restoredMessages) {
            users.incrementAndGet();
            outstanding.addAndGet(restoredMessages);
            registered.incrementAndGet();
            wakeIfQuiet();
        }

        void add(long delta) {
            if (delta != 0 && outstanding.addAndGet(delta) == 0) {
                wakeIfQuiet();
            }
        }

        void inputEnded(MailboxExecutor waiter) {
            waiters.add(waiter);
            inputsEnded.incrementAndGet();
            wakeIfQuiet();
        }

        boolean quiet() {
            return inputsEnded.get() >= parallelism && registered.get() >= 2 * parallelism && outstanding.get() == 0;
        }

        long outstanding() {
            return outstanding.get();
        }

        private void wakeIfQuiet() {
            if (!quiet()) {
                return;
            }
            for (MailboxExecutor waiter : waiters) {
                try {
                    waiter.execute(() -> {}, "statefun quiescence reached");
                } catch (RejectedExecutionException ignored) {
                    // That dispatcher is already gone; nothing to wake.
                }
            }
        }

        void release(MailboxExecutor waiter) {
            if (waiter != null) {
                waiters.remove(waiter);
            }
            if (users.decrementAndGet() <= 0) {
                QUIESCENCE.remove(key, this);
            }
        }
    }
}
