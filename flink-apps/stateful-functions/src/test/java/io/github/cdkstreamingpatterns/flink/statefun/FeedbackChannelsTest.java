package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.operators.MailboxExecutor.MailOptions;
import org.apache.flink.util.function.ThrowingRunnable;
import org.junit.jupiter.api.Test;

class FeedbackChannelsTest {

    /** Queues mails; the test runs them when the "task thread" would. */
    static final class QueueingMailbox implements MailboxExecutor {
        final List<ThrowingRunnable<? extends Exception>> mails = new ArrayList<>();

        @Override
        public void execute(
                MailOptions options,
                ThrowingRunnable<? extends Exception> command,
                String description,
                Object... args) {
            mails.add(command);
        }

        void runAll() throws Exception {
            List<ThrowingRunnable<? extends Exception>> batch = new ArrayList<>(mails);
            mails.clear();
            for (ThrowingRunnable<? extends Exception> mail : batch) {
                mail.run();
            }
        }

        @Override
        public void yield() {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean tryYield() {
            return false;
        }

        @Override
        public boolean shouldInterrupt() {
            return false;
        }
    }

    private static RoutedMessage message(String id) {
        return new RoutedMessage(new Address("f", "a"), id, "{\"id\":\"" + id + "\"}");
    }

    @Test
    void tailSnapshotHoldsExactlyTheMessagesTheDispatcherSnapshotMissed() throws Exception {
        FeedbackChannels.Channel channel =
                FeedbackChannels.channel(UUID.randomUUID().toString());
        QueueingMailbox mailbox = new QueueingMailbox();
        List<String> consumed = new ArrayList<>();
        channel.register(mailbox, (seq, m) -> {
            consumed.add(m.messageId);
            channel.consumed(seq);
        });

        channel.put(message("m1"));
        channel.put(message("m2"));
        mailbox.runAll(); // dispatcher consumed m1, m2
        channel.put(message("m3")); // handed over, not yet consumed
        channel.markCheckpoint(7); // dispatcher snapshot of checkpoint 7 contains m1, m2
        mailbox.runAll(); // m3 consumed after the dispatcher's snapshot
        channel.put(message("m4")); // still before barrier 7 reaches the tail

        assertThat(channel.unconsumedAt(7)).extracting(m -> m.messageId).containsExactly("m3", "m4");
        assertThat(consumed).containsExactly("m1", "m2", "m3");
        // checkpoint 7 is done with: the next one only needs what the dispatcher has not consumed by then
        mailbox.runAll();
        channel.markCheckpoint(8);
        assertThat(channel.unconsumedAt(8)).isEmpty();
    }

    @Test
    void deliversMessagesPutBeforeTheDispatcherRegistered() throws Exception {
        FeedbackChannels.Channel channel =
                FeedbackChannels.channel(UUID.randomUUID().toString());
        channel.put(message("early"));
        QueueingMailbox mailbox = new QueueingMailbox();
        List<String> consumed = new ArrayList<>();
        channel.register(mailbox, (seq, m) -> {
            consumed.add(m.messageId);
            channel.consumed(seq);
        });
        mailbox.runAll();
        assertThat(consumed).containsExactly("early");
        assertThat(channel.unconsumedCount()).isZero();
    }

    @Test
    void failsLoudlyInsteadOfLosingMessages() {
        FeedbackChannels.Channel channel =
                FeedbackChannels.channel(UUID.randomUUID().toString());
        channel.put(message("m1"));
        assertThatThrownBy(() -> channel.unconsumedAt(3)).hasMessageContaining("did not take checkpoint 3");
        channel.consumerClosed();
        assertThatThrownBy(() -> channel.put(message("m2")))
                .hasMessageContaining("is closed (finished, or failed and being restarted)");
        assertThat(channel.unconsumedCount()).isEqualTo(1);
    }

    @Test
    void quiescenceNeedsAllInputsEndedAllParticipantsAndNoOutstandingWork() {
        FeedbackChannels.Quiescence q =
                FeedbackChannels.quiescence(UUID.randomUUID().toString(), 1);
        QueueingMailbox mailbox = new QueueingMailbox();
        q.register(0);
        q.add(2);
        q.inputEnded(mailbox);
        assertThat(q.quiet()).isFalse();
        q.register(1); // the tail restored one message
        q.add(-2);
        assertThat(q.quiet()).isFalse();
        q.add(-1);
        assertThat(q.quiet()).isTrue();
        assertThat(mailbox.mails).as("the waiting dispatcher was woken").isNotEmpty();
    }

    @Test
    void offerRefusesAtTheBoundUntilTheDispatcherFinishesMessagesAndRestoredMessagesAlwaysGetIn() throws Exception {
        FeedbackChannels.Channel channel =
                FeedbackChannels.channel(UUID.randomUUID().toString());
        QueueingMailbox mailbox = new QueueingMailbox();
        List<String> consumed = new ArrayList<>();
        channel.register(mailbox, (seq, m) -> {
            consumed.add(m.messageId);
            channel.consumed(seq);
        });

        assertThat(channel.offer(message("m1"), 2)).isTrue();
        assertThat(channel.offer(message("m2"), 2)).isTrue();
        // Consumed is not finished: the messages are still held (buffered or in a call) by the dispatcher.
        mailbox.runAll();
        assertThat(channel.offer(message("m3"), 2)).as("at the bound").isFalse();
        assertThat(channel.pending()).isEqualTo(2);

        channel.finished(1);
        assertThat(channel.offer(message("m4"), 2)).isTrue();
        channel.put(message("restored"));
        channel.restoredPending(1);
        mailbox.runAll();

        assertThat(consumed).containsExactly("m1", "m2", "m4", "restored");
        assertThat(channel.pending()).isEqualTo(4);
        assertThat(channel.peak()).isEqualTo(4);
        channel.finished(4);
        assertThat(channel.pending()).isZero();
        assertThat(channel.peak()).isEqualTo(4);
    }
}
