package io.github.cdkstreamingpatterns.flink.kinesis;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/** Test sink that appends to an in-JVM list (the MiniCluster runs in the test JVM), in arrival order. */
final class QueueSink implements Sink<KinesisRecord> {
    private static final long serialVersionUID = 1L;
    private static final Map<String, List<KinesisRecord>> RECEIVED = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();

    QueueSink() {
        RECEIVED.put(id, new CopyOnWriteArrayList<>());
    }

    List<KinesisRecord> received() {
        return RECEIVED.get(id);
    }

    /** Blocks until at least n records arrived; the class-level JUnit timeout guards against a hang. */
    List<KinesisRecord> awaitAtLeast(int n) throws InterruptedException {
        while (received().size() < n) {
            Thread.sleep(20);
        }
        return List.copyOf(received());
    }

    @Override
    public SinkWriter<KinesisRecord> createWriter(WriterInitContext context) {
        List<KinesisRecord> target = RECEIVED.get(id);
        return new SinkWriter<>() {
            @Override
            public void write(KinesisRecord element, Context context) {
                target.add(element);
            }

            @Override
            public void flush(boolean endOfInput) {}

            @Override
            public void close() {}
        };
    }
}
