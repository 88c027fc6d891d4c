package io.github.cdkstreamingpatterns.flink.kinesis.source.reader.fanout;

import io.github.cdkstreamingpatterns.flink.common.Backoff;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisErrors;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSource;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.ShardSplitReaderBase;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.util.Collection;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.flink.annotation.Internal;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.util.FlinkRuntimeException;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardRequest;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;

/**
 * Reads the shards of one reader with enhanced fan-out (SubscribeToShard on a registered stream consumer).
 *
 * <p>Each shard has one subscription; its events go through a single queue to the fetcher thread, and the next
 * event is requested only after the previous one was handed to Flink, so a slow pipeline back-pressures Kinesis
 * instead of filling memory. Subscriptions end after 5 minutes or on errors and are renewed right after the last
 * event processed; errors back off exponentially (Kinesis allows one SubscribeToShard per second per shard and
 * consumer). A shard's final event carries the child shards and no continuation sequence number: the split is then
 * finished. (The local test server kinesis-local never sends that final event, so against it a closed shard stays
 * subscribed and its children are not read; the real service does send it.)
 */
@Internal
public final class KinesisEfoSplitReader
        extends ShardSplitReaderBase<KinesisAsyncClient, KinesisEfoSplitReader.ShardSubscription> {
    private static final Logger LOG = LoggerFactory.getLogger(KinesisEfoSplitReader.class);
    private static final long MIN_RESUBSCRIBE_BACKOFF_MILLIS = 1_000L;
    private static final long MAX_RESUBSCRIBE_BACKOFF_MILLIS = 10_000L;
    private static final Backoff RESUBSCRIBE_BACKOFF =
            Backoff.equalJitter(MIN_RESUBSCRIBE_BACKOFF_MILLIS, MAX_RESUBSCRIBE_BACKOFF_MILLIS);
    private static final long IDLE_WAIT_MILLIS = 1_000L;

    private final String consumerArn;
    private final BlockingQueue<Signal> signals = new LinkedBlockingQueue<>();

    public KinesisEfoSplitReader(KinesisAsyncClient client, String consumerArn) {
        super(client);
        this.consumerArn = consumerArn;
    }

    /** Something that happened on a subscription, or a wake-up; consumed by the fetcher thread only. */
    private static final class Signal {
        final String shardId;
        final long generation;
        final SubscribeToShardEvent event;
        final Throwable error;
        final boolean terminal;

        Signal(String shardId, long generation, SubscribeToShardEvent event, Throwable error, boolean terminal) {
            this.shardId = shardId;
            this.generation = generation;
            this.event = event;
            this.error = error;
            this.terminal = terminal;
        }

        static final Signal WAKE_UP = new Signal(null, -1, null, null, false);
    }

    /** Fetcher-thread state of one shard. */
    final class ShardSubscription extends ShardSplitReaderBase.ShardState {
        long generation;
        boolean subscribed;
        volatile Subscription subscription;
        long nextSubscribeAt;
        boolean paused;
        boolean demandPending;

        ShardSubscription(KinesisShardSplit split) {
            super(split);
        }

        void subscribe() {
            long gen = ++generation;
            subscribed = true;
            String shardId = shardId();
            // Resumes after the last record (or continuation) processed, or where the split starts.
            SubscribeToShardRequest request = SubscribeToShardRequest.builder()
                    .consumerARN(consumerArn)
                    .shardId(shardId)
                    .startingPosition(progress().startingPosition())
                    .build();
            Subscriber<SubscribeToShardEventStream> subscriber = new Subscriber<>() {
                @Override
                public void onSubscribe(Subscription s) {
                    subscription = s;
                    s.request(1);
                }

                @Override
                public void onNext(SubscribeToShardEventStream item) {
                    if (item instanceof SubscribeToShardEvent) {
                        signals.add(new Signal(shardId, gen, (SubscribeToShardEvent) item, null, false));
                    } else {
                        // Unknown event types carry nothing to emit; keep the stream flowing.
                        subscription.request(1);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    // Reported through the call's future below, which also covers errors before the stream started.
                }

                @Override
                public void onComplete() {
                    // Reported through the call's future below.
                }
            };
            SubscribeToShardResponseHandler handler = SubscribeToShardResponseHandler.builder()
                    .subscriber(() -> subscriber)
                    .build();
            client.subscribeToShard(request, handler)
                    .whenComplete((ignored, error) -> signals.add(new Signal(shardId, gen, null, error, true)));
        }

        void requestNext() {
            Subscription s = subscription;
            if (paused) {
                demandPending = true;
            } else if (s != null) {
                s.request(1);
            }
        }

        void cancel() {
            Subscription s = subscription;
            subscription = null;
            subscribed = false;
            generation++;
            if (s != null) {
                s.cancel();
            }
        }
    }

    @Override
    protected ShardSubscription newShardState(KinesisShardSplit split) {
        return new ShardSubscription(split);
    }

    @Override
    protected void fetchInto(RecordsBySplits.Builder<KinesisRecord> out) {
        long now = System.currentTimeMillis();
        long wait = IDLE_WAIT_MILLIS;
        for (ShardSubscription s : shards.values()) {
            if (!s.subscribed) {
                if (s.nextSubscribeAt <= now) {
                    s.subscribe();
                } else {
                    wait = Math.min(wait, s.nextSubscribeAt - now);
                }
            }
        }
        Signal signal;
        try {
            signal = signals.poll(Math.max(wait, 1L), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (signal == null || signal == Signal.WAKE_UP) {
            return;
        }
        ShardSubscription shard = shards.get(signal.shardId);
        if (shard == null || signal.generation != shard.generation) {
            return;
        }
        if (signal.terminal) {
            onSubscriptionEnded(shard, signal.error);
        } else {
            onEvent(shard, signal.event, out);
        }
    }

    private void onEvent(
            ShardSubscription shard, SubscribeToShardEvent event, RecordsBySplits.Builder<KinesisRecord> out) {
        String shardId = shard.shardId();
        resetFailures(shard);
        emit(shard, event.records(), out);
        if (event.continuationSequenceNumber() == null
                || (event.hasChildShards() && !event.childShards().isEmpty())) {
            // Last event of a closed shard: Kinesis sends it without continuation and with the child shards.
            LOG.info("Shard {} is closed and fully read (consumer {})", shardId, consumerArn);
            shard.cancel();
            finish(shard, out);
            return;
        }
        shard.progress().fetchedThrough(event.continuationSequenceNumber());
        shard.requestNext();
    }

    private void onSubscriptionEnded(ShardSubscription shard, Throwable error) {
        shard.subscribed = false;
        shard.subscription = null;
        shard.generation++;
        if (error == null) {
            // Normal end after ~5 minutes: renew at once from where we are.
            shard.nextSubscribeAt = System.currentTimeMillis();
            return;
        }
        Throwable cause = KinesisErrors.unwrap(error);
        if (cause instanceof ResourceNotFoundException) {
            throw new FlinkRuntimeException(
                    "Enhanced fan-out consumer " + consumerArn + " (" + KinesisStreamSource.EFO_CONSUMER_ARN
                            + ") or shard " + shard.shardId() + " not found: " + cause.getMessage(),
                    cause);
        }
        long backoff = RESUBSCRIBE_BACKOFF.delayMillis(countFailure(shard));
        LOG.warn(
                "Subscription to shard {} (consumer {}) failed ({}); resubscribing in {} ms",
                shard.shardId(),
                consumerArn,
                cause.toString(),
                backoff);
        shard.nextSubscribeAt = System.currentTimeMillis() + Math.max(backoff, MIN_RESUBSCRIBE_BACKOFF_MILLIS);
    }

    @Override
    public void pauseOrResumeSplits(
            Collection<KinesisShardSplit> splitsToPause, Collection<KinesisShardSplit> splitsToResume) {
        for (KinesisShardSplit split : splitsToPause) {
            ShardSubscription s = shards.get(split.shardId());
            if (s != null) {
                s.paused = true;
            }
        }
        for (KinesisShardSplit split : splitsToResume) {
            ShardSubscription s = shards.get(split.shardId());
            if (s != null) {
                s.paused = false;
                if (s.demandPending) {
                    s.demandPending = false;
                    s.requestNext();
                }
            }
        }
    }

    @Override
    public void wakeUp() {
        signals.add(Signal.WAKE_UP);
    }

    @Override
    public void close() {
        for (ShardSubscription s : shards.values()) {
            s.cancel();
        }
        super.close();
    }
}
