package io.github.cdkstreamingpatterns.flink.enrichment.bench;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.KinesisSourceReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.ShardSplitReaderBase;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplitSerializer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import software.amazon.awssdk.services.kinesis.model.Record;

/**
 * Stands in for {@code KinesisStreamSource} in the benchmark: the connector's own {@link KinesisSourceReader} and
 * fetch-side code ({@link ShardSplitReaderBase#emit}: the copy out of the SDK record, the KPL check, the hand-off from
 * the fetcher thread), fed with SDK {@link Record}s held in memory instead of GetRecords responses, in batches of
 * 10,000 (GetRecords' limit). One shard, bounded: the job ends when every record has been emitted.
 */
final class BenchKinesisSource
        implements Source<KinesisRecord, KinesisShardSplit, Void>, ResultTypeQueryable<KinesisRecord> {
    private static final long serialVersionUID = 1L;
    private static final Map<String, List<Record>> DATA = new ConcurrentHashMap<>();
    static final int BATCH = 10_000;
    private static final String SHARD = "shardId-000000000000";

    private final String key;

    /** Records of the benchmark JVM, shared with the mini cluster's task threads (same JVM). */
    BenchKinesisSource(String key, List<Record> records) {
        this.key = key;
        DATA.put(key, records);
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.BOUNDED;
    }

    @Override
    public SourceReader<KinesisRecord, KinesisShardSplit> createReader(SourceReaderContext context) {
        List<Record> records = DATA.get(key);
        return new KinesisSourceReader(() -> new InMemorySplitReader(records), context);
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, Void> createEnumerator(SplitEnumeratorContext<KinesisShardSplit> ctx) {
        return new OneSplitEnumerator(ctx);
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, Void> restoreEnumerator(
            SplitEnumeratorContext<KinesisShardSplit> ctx, Void checkpoint) {
        return new OneSplitEnumerator(ctx);
    }

    @Override
    public SimpleVersionedSerializer<KinesisShardSplit> getSplitSerializer() {
        return new KinesisShardSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<Void> getEnumeratorCheckpointSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(Void obj) {
                return new byte[0];
            }

            @Override
            public Void deserialize(int version, byte[] serialized) {
                return null;
            }
        };
    }

    @Override
    public TypeInformation<KinesisRecord> getProducedType() {
        return TypeInformation.of(KinesisRecord.class);
    }

    /** Hands the one shard to the one reader, then says there is nothing more. */
    private static final class OneSplitEnumerator implements SplitEnumerator<KinesisShardSplit, Void> {
        private final SplitEnumeratorContext<KinesisShardSplit> ctx;
        private boolean assigned;

        OneSplitEnumerator(SplitEnumeratorContext<KinesisShardSplit> ctx) {
            this.ctx = ctx;
        }

        @Override
        public void start() {}

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {}

        @Override
        public void addSplitsBack(List<KinesisShardSplit> splits, int subtaskId) {}

        @Override
        public void addReader(int subtaskId) {
            if (!assigned) {
                assigned = true;
                ctx.assignSplit(new KinesisShardSplit(SHARD, InitialPosition.TRIM_HORIZON, -1L, null), subtaskId);
            }
            ctx.signalNoMoreSplits(subtaskId);
        }

        @Override
        public Void snapshotState(long checkpointId) {
            return null;
        }

        @Override
        public void close() {}
    }

    /** Fetches the next batch of the in-memory shard; marks the start of the measurement at the first fetch. */
    private static final class InMemorySplitReader extends ShardSplitReaderBase<NoClient, InMemorySplitReader.Cursor> {
        private final List<Record> records;

        InMemorySplitReader(List<Record> records) {
            super(new NoClient());
            this.records = records;
        }

        static final class Cursor extends ShardSplitReaderBase.ShardState {
            int next;

            Cursor(KinesisShardSplit split) {
                super(split);
            }
        }

        @Override
        protected Cursor newShardState(KinesisShardSplit split) {
            return new Cursor(split);
        }

        @Override
        protected void fetchInto(RecordsBySplits.Builder<KinesisRecord> out) {
            if (shards.isEmpty()) {
                return;
            }
            Cursor c = shards.values().iterator().next();
            if (c.next == 0) {
                BenchMeter.started();
            }
            int to = Math.min(records.size(), c.next + BATCH);
            emit(c, records.subList(c.next, to), out);
            c.next = to;
            if (to == records.size()) {
                finish(c, out);
            }
        }

        @Override
        public void wakeUp() {}
    }

    /** The Kinesis client the in-memory reader does not need. */
    private static final class NoClient implements software.amazon.awssdk.utils.SdkAutoCloseable {
        @Override
        public void close() {}
    }
}
