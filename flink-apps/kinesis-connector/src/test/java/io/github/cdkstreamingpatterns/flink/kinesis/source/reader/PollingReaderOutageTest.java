package io.github.cdkstreamingpatterns.flink.kinesis.source.reader;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisLocalServer;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisTestData;
import io.github.cdkstreamingpatterns.flink.kinesis.OutageProxy;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.polling.KinesisShardSplitReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kinesis away for a while (here: every connection to a real kinesis-local closed and new ones refused, as in a
 * restart) must not fail the polling reader. A failure would fail the job over to its last checkpoint, and the
 * at-least-once sink downstream would write again everything that followed it.
 */
// A hang must fail the build rather than block it; not a speed assertion.
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PollingReaderOutageTest {
    @RegisterExtension
    static final KinesisLocalServer KINESIS = new KinesisLocalServer();

    @Test
    void aReaderRidesOutAnOutageLongerThanTheSdksRetriesAndReadsEachRecordOnce() throws Exception {
        KinesisClientConfig direct = KINESIS.createStream(1);
        List<String> before = payloads(0, 100);
        KinesisTestData.putDirect(direct, before);
        try (OutageProxy proxy = new OutageProxy(URI.create(KINESIS.endpoint()).getPort())) {
            KinesisClientConfig viaProxy =
                    KinesisClientConfig.of(direct.streamArn(), KinesisLocalServer.REGION, proxy.endpoint());
            Output out = new Output();
            KinesisSourceReaderTest.Context context = new KinesisSourceReaderTest.Context();
            try (KinesisSourceReader reader = new KinesisSourceReader(
                    () -> new KinesisShardSplitReader(viaProxy.buildClient(), viaProxy.streamArn(), 50L, 40),
                    context)) {
                reader.start();
                reader.addSplits(
                        List.of(new KinesisShardSplit("shardId-000000000000", InitialPosition.TRIM_HORIZON, 0L, null)));
                pollUntil(reader, out, 50);

                proxy.down();
                // Longer than the SDK's own retries (3, with backoff under a second): the reader sees the failures.
                pollFor(reader, out, 4000);
                proxy.up();

                List<String> after = payloads(100, 100);
                KinesisTestData.putDirect(direct, after);
                pollUntil(reader, out, 200);
                // Nothing may follow (a record read twice would arrive now).
                pollFor(reader, out, 500);
            }
            List<String> expected = new ArrayList<>(before);
            expected.addAll(payloads(100, 100));
            assertThat(out.payloads).containsExactlyElementsOf(expected);
        }
    }

    private static List<String> payloads(int from, int n) {
        List<String> p = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            p.add("device-" + (i % 7) + "|" + i);
        }
        return p;
    }

    private static void pollUntil(KinesisSourceReader reader, Output out, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (out.payloads.size() < n) {
            assertThat(System.nanoTime())
                    .as("%s of %s records", out.payloads.size(), n)
                    .isLessThan(deadline);
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE) {
                waitAvailable(reader, 100);
            }
        }
    }

    private static void pollFor(KinesisSourceReader reader, Output out, long millis) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < end) {
            // A failed fetcher surfaces here, as the exception that would fail the task.
            if (reader.pollNext(out) == InputStatus.NOTHING_AVAILABLE) {
                waitAvailable(reader, 20);
            }
        }
    }

    private static void waitAvailable(KinesisSourceReader reader, long millis) throws Exception {
        try {
            reader.isAvailable().get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // nothing fetched yet
        }
    }

    private static final class Output implements ReaderOutput<KinesisRecord> {
        final List<String> payloads = new CopyOnWriteArrayList<>();

        @Override
        public void collect(KinesisRecord record) {
            payloads.add(new String(record.data(), StandardCharsets.UTF_8));
        }

        @Override
        public void collect(KinesisRecord record, long timestamp) {
            collect(record);
        }

        @Override
        public void emitWatermark(Watermark watermark) {}

        @Override
        public void markIdle() {}

        @Override
        public void markActive() {}

        @Override
        public SourceOutput<KinesisRecord> createOutputForSplit(String splitId) {
            return this;
        }

        @Override
        public void releaseOutputForSplit(String splitId) {}
    }
}
