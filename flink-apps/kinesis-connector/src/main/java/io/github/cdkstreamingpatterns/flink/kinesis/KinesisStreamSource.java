package io.github.cdkstreamingpatterns.flink.kinesis;

import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.KinesisEnumeratorState;
import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.KinesisEnumeratorStateSerializer;
import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.KinesisSourceEnumerator;
import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.ShardLister;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.KinesisSourceReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.fanout.KinesisEfoSplitReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.reader.polling.KinesisShardSplitReader;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplitSerializer;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Unbounded FLIP-27 source reading every shard of one Kinesis data stream.
 *
 * <p>Guarantees: each shard's records are emitted in sequence-number order; a child shard is read only after its
 * parents are fully read. The last emitted sequence number of each shard is checkpointed, so after a restore
 * reading resumes right after it: exactly-once with respect to Flink state, at-least-once towards external systems.
 *
 * <p>Reading modes: polling (GetRecords, default; all polling consumers of a stream share each shard's 2 MB/s) or
 * enhanced fan-out ({@link Builder#efoConsumerArn}, SubscribeToShard on a consumer registered beforehand, e.g. by
 * the CDK construct; a dedicated 2 MB/s per shard and lower latency).
 *
 * <p>Limits: KPL-aggregated records are emitted as the aggregate blob, not de-aggregated. Readers without shards
 * (parallelism above the shard count) emit no watermarks: use {@code WatermarkStrategy#withIdleness}.
 *
 * <pre>{@code
 * KinesisStreamSource source = KinesisStreamSource.builder()
 *     .clientConfig(KinesisClientConfig.fromProperties(props))
 *     .initialPosition(InitialPosition.TRIM_HORIZON)
 *     .build();
 * env.fromSource(source, WatermarkStrategy.noWatermarks(), "kinesis");
 * }</pre>
 */
public final class KinesisStreamSource
        implements Source<KinesisRecord, KinesisShardSplit, KinesisEnumeratorState>,
                ResultTypeQueryable<KinesisRecord> {
    private static final long serialVersionUID = 1L;

    public static final String INITIAL_POSITION = "initial.position";
    public static final String INITIAL_TIMESTAMP = "initial.timestamp";
    public static final String READER_TYPE = "reader.type";
    public static final String EFO_CONSUMER_ARN = "efo.consumer.arn";
    /** Optional: milliseconds between GetRecords calls on one shard (default 200, Kinesis allows 5/s). */
    public static final String POLL_INTERVAL_MS = "poll.interval.ms";
    /** Optional: milliseconds between ListShards calls that discover resharding (default 10000). */
    public static final String SHARD_DISCOVERY_INTERVAL_MS = "shard.discovery.interval.ms";

    static final long DEFAULT_POLL_INTERVAL_MILLIS = 200L;
    static final long DEFAULT_DISCOVERY_INTERVAL_MILLIS = 10_000L;
    static final int DEFAULT_MAX_RECORDS_PER_POLL = 10_000;
    // One subscription (HTTP/2 stream or HTTP/1.1 connection) per shard of a reader.
    static final int EFO_MAX_CONCURRENCY = 500;

    private final KinesisClientConfig clientConfig;
    private final InitialPosition initialPosition;
    private final long initialTimestampMillis;
    private final long pollIntervalMillis;
    private final long shardDiscoveryIntervalMillis;
    private final int maxRecordsPerPoll;
    private final String efoConsumerArn;

    private KinesisStreamSource(Builder b) {
        this.clientConfig = b.clientConfig;
        this.initialPosition = b.initialPosition;
        this.initialTimestampMillis = b.initialTimestampMillis;
        this.pollIntervalMillis = b.pollIntervalMillis;
        this.shardDiscoveryIntervalMillis = b.shardDiscoveryIntervalMillis;
        this.maxRecordsPerPoll = b.maxRecordsPerPoll;
        this.efoConsumerArn = b.efoConsumerArn;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a source from the {@code KinesisSource} runtime property group: {@code stream.arn}, {@code aws.region},
     * {@code aws.endpoint} (optional), {@code initial.position} (LATEST|TRIM_HORIZON|AT_TIMESTAMP, default LATEST),
     * {@code initial.timestamp} (epoch ms, for AT_TIMESTAMP), {@code reader.type} (POLLING, default, or EFO),
     * {@code efo.consumer.arn} (the registered stream consumer, required for EFO), and
     * optionally {@code poll.interval.ms} and {@code shard.discovery.interval.ms}.
     *
     * @throws IllegalArgumentException naming the key and value received when a property is invalid
     */
    public static KinesisStreamSource fromProperties(Properties props) {
        Objects.requireNonNull(props, "props");
        String readerType = props.getProperty(READER_TYPE, "POLLING").trim().toUpperCase(Locale.ROOT);
        if (!readerType.isEmpty() && !readerType.equals("POLLING") && !readerType.equals("EFO")) {
            throw new IllegalArgumentException("Property '" + READER_TYPE + "' must be POLLING or EFO, got: '"
                    + props.getProperty(READER_TYPE) + "'");
        }
        Builder builder = builder().clientConfig(KinesisClientConfig.fromProperties(props));
        if (readerType.equals("EFO")) {
            String consumer = props.getProperty(EFO_CONSUMER_ARN);
            if (consumer == null || consumer.isBlank()) {
                throw new IllegalArgumentException("Property '" + EFO_CONSUMER_ARN + "' is required when '"
                        + READER_TYPE + "' is EFO, got: <missing>");
            }
            builder.efoConsumerArn(consumer.trim());
        }
        String position = props.getProperty(INITIAL_POSITION);
        if (position != null && !position.isBlank()) {
            try {
                builder.initialPosition(InitialPosition.valueOf(position.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "Property '" + INITIAL_POSITION + "' must be one of LATEST, TRIM_HORIZON, AT_TIMESTAMP, got: '"
                                + position + "'",
                        e);
            }
        }
        String timestamp = props.getProperty(INITIAL_TIMESTAMP);
        if (timestamp != null && !timestamp.isBlank()) {
            builder.initialTimestamp(parseLong(INITIAL_TIMESTAMP, timestamp));
        }
        String poll = props.getProperty(POLL_INTERVAL_MS);
        if (poll != null && !poll.isBlank()) {
            builder.pollIntervalMillis(parseLong(POLL_INTERVAL_MS, poll));
        }
        String discovery = props.getProperty(SHARD_DISCOVERY_INTERVAL_MS);
        if (discovery != null && !discovery.isBlank()) {
            builder.shardDiscoveryIntervalMillis(parseLong(SHARD_DISCOVERY_INTERVAL_MS, discovery));
        }
        return builder.build();
    }

    private static long parseLong(String key, String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Property '" + key + "' must be an integer, got: '" + value + "'", e);
        }
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<KinesisRecord, KinesisShardSplit> createReader(SourceReaderContext readerContext) {
        if (efoConsumerArn != null) {
            return new KinesisSourceReader(
                    () -> new KinesisEfoSplitReader(clientConfig.buildAsyncClient(EFO_MAX_CONCURRENCY), efoConsumerArn),
                    readerContext);
        }
        return new KinesisSourceReader(
                () -> new KinesisShardSplitReader(
                        clientConfig.buildClient(), clientConfig.streamArn(), pollIntervalMillis, maxRecordsPerPoll),
                readerContext);
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, KinesisEnumeratorState> createEnumerator(
            SplitEnumeratorContext<KinesisShardSplit> enumContext) {
        return restoreEnumerator(enumContext, null);
    }

    @Override
    public SplitEnumerator<KinesisShardSplit, KinesisEnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<KinesisShardSplit> enumContext, KinesisEnumeratorState checkpoint) {
        return new KinesisSourceEnumerator(
                enumContext,
                ShardLister.of(clientConfig),
                clientConfig.streamArn(),
                initialPosition,
                initialTimestampMillis,
                shardDiscoveryIntervalMillis,
                checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<KinesisShardSplit> getSplitSerializer() {
        return new KinesisShardSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KinesisEnumeratorState> getEnumeratorCheckpointSerializer() {
        return new KinesisEnumeratorStateSerializer();
    }

    @Override
    public TypeInformation<KinesisRecord> getProducedType() {
        return TypeInformation.of(KinesisRecord.class);
    }

    public KinesisClientConfig clientConfig() {
        return clientConfig;
    }

    public InitialPosition initialPosition() {
        return initialPosition;
    }

    public long initialTimestampMillis() {
        return initialTimestampMillis;
    }

    public long pollIntervalMillis() {
        return pollIntervalMillis;
    }

    public long shardDiscoveryIntervalMillis() {
        return shardDiscoveryIntervalMillis;
    }

    /** The enhanced fan-out consumer, or empty when reading by polling. */
    public Optional<String> efoConsumerArn() {
        return Optional.ofNullable(efoConsumerArn);
    }

    /** Builder; {@link #clientConfig} is required, everything else has a default. */
    public static final class Builder {
        private KinesisClientConfig clientConfig;
        private InitialPosition initialPosition = InitialPosition.LATEST;
        private long initialTimestampMillis = -1L;
        private long pollIntervalMillis = DEFAULT_POLL_INTERVAL_MILLIS;
        private long shardDiscoveryIntervalMillis = DEFAULT_DISCOVERY_INTERVAL_MILLIS;
        private int maxRecordsPerPoll = DEFAULT_MAX_RECORDS_PER_POLL;
        private String efoConsumerArn;

        private Builder() {}

        /**
         * Reads with enhanced fan-out through this registered stream consumer
         * ({@code <stream arn>/consumer/<name>:<creation timestamp>}) instead of polling. Default: polling.
         */
        public Builder efoConsumerArn(String efoConsumerArn) {
            this.efoConsumerArn = efoConsumerArn;
            return this;
        }

        public Builder clientConfig(KinesisClientConfig clientConfig) {
            this.clientConfig = clientConfig;
            return this;
        }

        /** Where a fresh job starts reading; ignored on restore from a checkpoint. Default LATEST. */
        public Builder initialPosition(InitialPosition initialPosition) {
            this.initialPosition = initialPosition;
            return this;
        }

        /** Epoch millis, required with {@link InitialPosition#AT_TIMESTAMP}. */
        public Builder initialTimestamp(long epochMillis) {
            this.initialTimestampMillis = epochMillis;
            return this;
        }

        /** Milliseconds between GetRecords calls on one shard when it is caught up. Default 200. */
        public Builder pollIntervalMillis(long pollIntervalMillis) {
            this.pollIntervalMillis = pollIntervalMillis;
            return this;
        }

        /** Milliseconds between ListShards calls. Default 10000. */
        public Builder shardDiscoveryIntervalMillis(long shardDiscoveryIntervalMillis) {
            this.shardDiscoveryIntervalMillis = shardDiscoveryIntervalMillis;
            return this;
        }

        /** GetRecords limit, 1..10000. Default 10000. */
        public Builder maxRecordsPerPoll(int maxRecordsPerPoll) {
            this.maxRecordsPerPoll = maxRecordsPerPoll;
            return this;
        }

        public KinesisStreamSource build() {
            if (clientConfig == null) {
                throw new IllegalArgumentException(
                        "clientConfig is required (KinesisClientConfig.fromProperties(...))");
            }
            if (initialPosition == null) {
                throw new IllegalArgumentException("'" + INITIAL_POSITION + "' must not be null");
            }
            if (initialPosition == InitialPosition.AT_TIMESTAMP && initialTimestampMillis < 0) {
                throw new IllegalArgumentException("Property '" + INITIAL_TIMESTAMP
                        + "' (epoch millis >= 0) is required when '" + INITIAL_POSITION + "' is AT_TIMESTAMP, got: "
                        + (initialTimestampMillis == -1L ? "<missing>" : initialTimestampMillis));
            }
            if (pollIntervalMillis < 1) {
                throw new IllegalArgumentException(
                        "Property '" + POLL_INTERVAL_MS + "' must be >= 1, got: " + pollIntervalMillis);
            }
            if (shardDiscoveryIntervalMillis < 1) {
                throw new IllegalArgumentException("Property '" + SHARD_DISCOVERY_INTERVAL_MS + "' must be >= 1, got: "
                        + shardDiscoveryIntervalMillis);
            }
            if (maxRecordsPerPoll < 1 || maxRecordsPerPoll > 10_000) {
                throw new IllegalArgumentException("maxRecordsPerPoll must be in 1..10000, got: " + maxRecordsPerPoll);
            }
            if (efoConsumerArn != null) {
                String prefix = clientConfig.streamArn() + "/consumer/";
                if (!efoConsumerArn.startsWith(prefix)
                        || !efoConsumerArn.substring(prefix.length()).matches("[A-Za-z0-9_.-]{1,128}:\\d+")) {
                    throw new IllegalArgumentException(
                            "Property '" + EFO_CONSUMER_ARN + "' must be a consumer of " + clientConfig.streamArn()
                                    + " (" + prefix + "<name>:<timestamp>), got: '" + efoConsumerArn + "'");
                }
            }
            return new KinesisStreamSource(this);
        }
    }
}
