package io.github.cdkstreamingpatterns.flink.kinesis;

import io.github.cdkstreamingpatterns.flink.kinesis.sink.KinesisElementConverter;
import io.github.cdkstreamingpatterns.flink.kinesis.sink.KinesisSinkStateSerializer;
import io.github.cdkstreamingpatterns.flink.kinesis.sink.KinesisStreamSinkWriter;
import java.util.Collection;
import java.util.Collections;
import java.util.Properties;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.base.sink.AsyncSinkBase;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.config.AsyncSinkWriterConfiguration;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

/**
 * Sink V2 writing to one Kinesis data stream with batched PutRecords (at most 500 records and 5 MiB per call).
 *
 * <p>At-least-once: before each checkpoint the writer waits for in-flight requests, and entries still buffered are
 * stored in the checkpoint and re-sent after a restore. Failed entries are retried; permanent errors (missing stream,
 * access denied, unusable KMS key) fail the job with a {@link KinesisSinkException}. Elements larger than
 * {@link #MAX_RECORD_SIZE_BYTES} (data plus partition key) fail the job too: route them to a dead-letter stream
 * before this sink.
 *
 * <pre>{@code
 * KinesisStreamSink<String> sink = KinesisStreamSink.<String>builder()
 *     .clientConfig(KinesisClientConfig.fromProperties(props))
 *     .serializationSchema(new SimpleStringSchema())
 *     .partitionKeyGenerator(s -> deviceIdOf(s))
 *     .build();
 * stream.sinkTo(sink);
 * }</pre>
 */
public final class KinesisStreamSink<T> extends AsyncSinkBase<T, PutRecordsRequestEntry> {
    private static final long serialVersionUID = 1L;

    /** Kinesis PutRecords limit on records per request. */
    public static final int MAX_RECORDS_PER_REQUEST = 500;
    /** Kinesis PutRecords limit on bytes (data plus partition keys) per request. */
    public static final long MAX_BYTES_PER_REQUEST = 5L * 1024 * 1024;
    /** Kinesis default limit on one record (data plus partition key). */
    public static final long MAX_RECORD_SIZE_BYTES = 1024L * 1024;

    private final KinesisClientConfig clientConfig;

    private KinesisStreamSink(Builder<T> b) {
        super(
                new KinesisElementConverter<>(b.serializationSchema, b.partitionKeyGenerator),
                b.maxBatchSize,
                b.maxInFlightRequests,
                b.maxBufferedRequests,
                b.maxBatchSizeInBytes,
                b.maxTimeInBufferMillis,
                b.maxRecordSizeInBytes,
                b.requestTimeoutMillis,
                false);
        this.clientConfig = b.clientConfig;
    }

    public static <T> Builder<T> builder() {
        return new Builder<>();
    }

    public KinesisClientConfig clientConfig() {
        return clientConfig;
    }

    @Override
    public StatefulSinkWriter<T, BufferedRequestState<PutRecordsRequestEntry>> createWriter(WriterInitContext context) {
        return restoreWriter(context, Collections.emptyList());
    }

    @Override
    public StatefulSinkWriter<T, BufferedRequestState<PutRecordsRequestEntry>> restoreWriter(
            WriterInitContext context, Collection<BufferedRequestState<PutRecordsRequestEntry>> recoveredState) {
        AsyncSinkWriterConfiguration configuration = AsyncSinkWriterConfiguration.builder()
                .setMaxBatchSize(getMaxBatchSize())
                .setMaxBatchSizeInBytes(getMaxBatchSizeInBytes())
                .setMaxInFlightRequests(getMaxInFlightRequests())
                .setMaxBufferedRequests(getMaxBufferedRequests())
                .setMaxTimeInBufferMS(getMaxTimeInBufferMS())
                .setMaxRecordSizeInBytes(getMaxRecordSizeInBytes())
                .setRequestTimeoutMS(getRequestTimeoutMS())
                .setFailOnTimeout(getFailOnTimeout())
                .build();
        return new KinesisStreamSinkWriter<>(
                getElementConverter(), context, configuration, recoveredState, clientConfig, getMaxInFlightRequests());
    }

    @Override
    public SimpleVersionedSerializer<BufferedRequestState<PutRecordsRequestEntry>> getWriterStateSerializer() {
        return new KinesisSinkStateSerializer();
    }

    /** Builder; client config, serialization schema and partition key generator are required. */
    public static final class Builder<T> {
        private KinesisClientConfig clientConfig;
        private SerializationSchema<T> serializationSchema;
        private PartitionKeyGenerator<T> partitionKeyGenerator;
        private int maxBatchSize = MAX_RECORDS_PER_REQUEST;
        private int maxInFlightRequests = 50;
        private int maxBufferedRequests = 10_000;
        private long maxBatchSizeInBytes = MAX_BYTES_PER_REQUEST;
        private long maxTimeInBufferMillis = 5_000L;
        private long maxRecordSizeInBytes = MAX_RECORD_SIZE_BYTES;
        private long requestTimeoutMillis = 60_000L;

        private Builder() {}

        public Builder<T> clientConfig(KinesisClientConfig clientConfig) {
            this.clientConfig = clientConfig;
            return this;
        }

        /** Convenience for {@code clientConfig(KinesisClientConfig.fromProperties(props))}. */
        public Builder<T> properties(Properties props) {
            return clientConfig(KinesisClientConfig.fromProperties(props));
        }

        public Builder<T> serializationSchema(SerializationSchema<T> serializationSchema) {
            this.serializationSchema = serializationSchema;
            return this;
        }

        public Builder<T> partitionKeyGenerator(PartitionKeyGenerator<T> partitionKeyGenerator) {
            this.partitionKeyGenerator = partitionKeyGenerator;
            return this;
        }

        /** Records per PutRecords call, 1..500. Default 500. */
        public Builder<T> maxBatchSize(int maxBatchSize) {
            this.maxBatchSize = maxBatchSize;
            return this;
        }

        /** Concurrent PutRecords calls per writer. Default 50. */
        public Builder<T> maxInFlightRequests(int maxInFlightRequests) {
            this.maxInFlightRequests = maxInFlightRequests;
            return this;
        }

        /** Records buffered before the writer applies back-pressure. Default 10000. */
        public Builder<T> maxBufferedRequests(int maxBufferedRequests) {
            this.maxBufferedRequests = maxBufferedRequests;
            return this;
        }

        /** Bytes per PutRecords call, up to 5 MiB. Default 5 MiB. */
        public Builder<T> maxBatchSizeInBytes(long maxBatchSizeInBytes) {
            this.maxBatchSizeInBytes = maxBatchSizeInBytes;
            return this;
        }

        /** Longest time a record waits for its batch to fill. Default 5000 ms. */
        public Builder<T> maxTimeInBufferMillis(long maxTimeInBufferMillis) {
            this.maxTimeInBufferMillis = maxTimeInBufferMillis;
            return this;
        }

        /** Largest accepted record (data plus key). Default 1 MiB. */
        public Builder<T> maxRecordSizeInBytes(long maxRecordSizeInBytes) {
            this.maxRecordSizeInBytes = maxRecordSizeInBytes;
            return this;
        }

        /** Time after which an unanswered PutRecords call is retried. Default 60000 ms. */
        public Builder<T> requestTimeoutMillis(long requestTimeoutMillis) {
            this.requestTimeoutMillis = requestTimeoutMillis;
            return this;
        }

        public KinesisStreamSink<T> build() {
            if (clientConfig == null) {
                throw new IllegalArgumentException(
                        "clientConfig is required (KinesisClientConfig.fromProperties(...))");
            }
            if (serializationSchema == null) {
                throw new IllegalArgumentException("serializationSchema is required");
            }
            if (partitionKeyGenerator == null) {
                throw new IllegalArgumentException("partitionKeyGenerator is required");
            }
            if (maxBatchSize < 1 || maxBatchSize > MAX_RECORDS_PER_REQUEST) {
                throw new IllegalArgumentException(
                        "maxBatchSize must be in 1.." + MAX_RECORDS_PER_REQUEST + ", got: " + maxBatchSize);
            }
            if (maxBatchSizeInBytes < 1 || maxBatchSizeInBytes > MAX_BYTES_PER_REQUEST) {
                throw new IllegalArgumentException(
                        "maxBatchSizeInBytes must be in 1.." + MAX_BYTES_PER_REQUEST + ", got: " + maxBatchSizeInBytes);
            }
            if (maxRecordSizeInBytes < 1 || maxRecordSizeInBytes > maxBatchSizeInBytes) {
                throw new IllegalArgumentException("maxRecordSizeInBytes must be in 1..maxBatchSizeInBytes ("
                        + maxBatchSizeInBytes + "), got: " + maxRecordSizeInBytes);
            }
            return new KinesisStreamSink<>(this);
        }
    }
}
