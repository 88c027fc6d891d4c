package io.github.cdkstreamingpatterns.flink.kinesis.source.reader.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.util.FlinkRuntimeException;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.ChildShard;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEvent;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardEventStream;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardRequest;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponse;
import software.amazon.awssdk.services.kinesis.model.SubscribeToShardResponseHandler;

/**
 * Enhanced fan-out reader against a scripted client: covers the shard-end event and subscription renewal, which the
 * local test server does not produce.
 */
class KinesisEfoSplitReaderTest {
    static final String CONSUMER = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1";

    /** One SubscribeToShard call: events delivered on demand, then completion or an error. */
    static final class Script {
        final List<SubscribeToShardEvent> events;
        final Throwable endError;
        final boolean failBeforeStream;

        Script(List<SubscribeToShardEvent> events, Throwable endError, boolean failBeforeStream) {
            this.events = events;
            this.endError = endError;
            this.failBeforeStream = failBeforeStream;
        }
    }

    static final class ScriptedClient implements KinesisAsyncClient {
        final Deque<Script> scripts = new ArrayDeque<>();
        final List<SubscribeToShardRequest> requests = new CopyOnWriteArrayList<>();

        @Override
        public CompletableFuture<Void> subscribeToShard(
                SubscribeToShardRequest request, SubscribeToShardResponseHandler handler) {
            requests.add(request);
            CompletableFuture<Void> done = new CompletableFuture<>();
            Script script = scripts.poll();
            if (script == null) {
                // Nothing more scripted: an open subscription that never delivers.
                return done;
            }
            if (script.failBeforeStream) {
                handler.exceptionOccurred(script.endError);
                done.completeExceptionally(script.endError);
                return done;
            }
            handler.responseReceived(SubscribeToShardResponse.builder().build());
            SdkPublisher<SubscribeToShardEventStream> publisher =
                    SdkPublisher.adapt(subscriber -> subscriber.onSubscribe(new Subscription() {
                        int next;
                        boolean finished;

                        @Override
                        public void request(long n) {
                            for (long i = 0; i < n && next < script.events.size(); i++) {
                                subscriber.onNext(script.events.get(next++));
                            }
                            if (next == script.events.size() && !finished) {
                                finished = true;
                                if (script.endError != null) {
                                    subscriber.onError(script.endError);
                                    done.completeExceptionally(script.endError);
                                } else {
                                    subscriber.onComplete();
                                    done.complete(null);
                                }
                            }
                        }

                        @Override
                        public void cancel() {
                            finished = true;
                        }
                    }));
            handler.onEventStream(publisher);
            return done;
        }

        @Override
        public String serviceName() {
            return "kinesis";
        }

        @Override
        public void close() {}
    }

    static Record record(String seq) {
        return Record.builder()
                .sequenceNumber(seq)
                .partitionKey("k")
                .data(SdkBytes.fromUtf8String("r" + seq))
                .approximateArrivalTimestamp(Instant.ofEpochMilli(1000))
                .build();
    }

    static SubscribeToShardEvent event(String continuation, Record... records) {
        return SubscribeToShardEvent.builder()
                .records(records)
                .continuationSequenceNumber(continuation)
                .millisBehindLatest(0L)
                .build();
    }

    static SubscribeToShardEvent shardEnd(Record... records) {
        return SubscribeToShardEvent.builder()
                .records(records)
                .millisBehindLatest(0L)
                .childShards(
                        ChildShard.builder().shardId("child").parentShards("s").build())
                .build();
    }

    /** Fetches until the split finishes or the fetch budget is used up; returns emitted sequence numbers. */
    static List<String> drain(KinesisEfoSplitReader reader, int fetches, Set<String> finished) {
        List<String> seqs = new ArrayList<>();
        for (int i = 0; i < fetches && finished.isEmpty(); i++) {
            RecordsWithSplitIds<KinesisRecord> batch = reader.fetch();
            String split;
            while ((split = batch.nextSplit()) != null) {
                KinesisRecord r;
                while ((r = batch.nextRecordFromSplit()) != null) {
                    seqs.add(r.sequenceNumber());
                }
            }
            finished.addAll(batch.finishedSplits());
        }
        return seqs;
    }

    static KinesisEfoSplitReader reader(ScriptedClient client, KinesisShardSplit split) {
        KinesisEfoSplitReader reader = new KinesisEfoSplitReader(client, CONSUMER);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));
        return reader;
    }

    @Test
    void renewsAnEndedSubscriptionAfterTheLastEventAndFinishesOnShardEnd() {
        ScriptedClient client = new ScriptedClient();
        client.scripts.add(new Script(List.of(event("2", record("1"), record("2")), event("2")), null, false));
        client.scripts.add(new Script(List.of(event("3", record("3")), shardEnd(record("4"))), null, false));
        KinesisEfoSplitReader reader =
                reader(client, new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, null));

        Set<String> finished = new java.util.HashSet<>();
        List<String> seqs = drain(reader, 50, finished);

        assertThat(seqs).containsExactly("1", "2", "3", "4");
        assertThat(finished).containsExactly("s");
        assertThat(client.requests).hasSize(2);
        assertThat(client.requests.get(0).startingPosition().type()).isEqualTo(ShardIteratorType.TRIM_HORIZON);
        assertThat(client.requests.get(0).consumerARN()).isEqualTo(CONSUMER);
        assertThat(client.requests.get(1).startingPosition().type()).isEqualTo(ShardIteratorType.AFTER_SEQUENCE_NUMBER);
        assertThat(client.requests.get(1).startingPosition().sequenceNumber()).isEqualTo("2");
    }

    @Test
    void restoredSplitSubscribesAfterItsLastSequenceNumber() {
        ScriptedClient client = new ScriptedClient();
        client.scripts.add(new Script(List.of(shardEnd(record("8"))), null, false));
        KinesisEfoSplitReader reader = reader(client, new KinesisShardSplit("s", InitialPosition.LATEST, 0L, "7"));

        List<String> seqs = drain(reader, 20, new java.util.HashSet<>());

        assertThat(seqs).containsExactly("8");
        assertThat(client.requests.get(0).startingPosition().type()).isEqualTo(ShardIteratorType.AFTER_SEQUENCE_NUMBER);
        assertThat(client.requests.get(0).startingPosition().sequenceNumber()).isEqualTo("7");
    }

    @Test
    void atTimestampSubscribesWithTheTimestamp() {
        ScriptedClient client = new ScriptedClient();
        client.scripts.add(new Script(List.of(shardEnd()), null, false));
        KinesisEfoSplitReader reader =
                reader(client, new KinesisShardSplit("s", InitialPosition.AT_TIMESTAMP, 1764403200123L, null));

        Set<String> finished = new java.util.HashSet<>();
        drain(reader, 20, finished);

        assertThat(finished).containsExactly("s");
        assertThat(client.requests.get(0).startingPosition().type()).isEqualTo(ShardIteratorType.AT_TIMESTAMP);
        assertThat(client.requests.get(0).startingPosition().timestamp())
                .isEqualTo(Instant.ofEpochMilli(1764403200123L));
    }

    @Test
    void transientErrorResubscribesFromTheLastRecordWithoutLosingOrRepeatingAny() {
        ScriptedClient client = new ScriptedClient();
        client.scripts.add(new Script(List.of(event("1", record("1"))), SdkClientException.create("reset"), false));
        client.scripts.add(new Script(List.of(shardEnd(record("2"))), null, false));
        KinesisEfoSplitReader reader =
                reader(client, new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, null));

        List<String> seqs = drain(reader, 50, new java.util.HashSet<>());

        assertThat(seqs).containsExactly("1", "2");
        assertThat(client.requests.get(1).startingPosition().sequenceNumber()).isEqualTo("1");
    }

    @Test
    void missingConsumerFailsNamingTheProperty() {
        ScriptedClient client = new ScriptedClient();
        client.scripts.add(new Script(
                List.of(),
                ResourceNotFoundException.builder()
                        .message("Consumer not found")
                        .build(),
                true));
        KinesisEfoSplitReader reader =
                reader(client, new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, null));

        assertThatThrownBy(() -> drain(reader, 5, new java.util.HashSet<>()))
                .isInstanceOf(FlinkRuntimeException.class)
                .hasMessageContaining("efo.consumer.arn")
                .hasMessageContaining(CONSUMER);
    }
}
