package io.github.cdkstreamingpatterns.flink.kinesis.sink;

import io.github.cdkstreamingpatterns.flink.kinesis.PartitionKeyGenerator;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.base.sink.writer.ElementConverter;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

/** Turns an element into a PutRecords entry with the user's serialization schema and partition key generator. */
@Internal
public final class KinesisElementConverter<T> implements ElementConverter<T, PutRecordsRequestEntry> {
    private static final long serialVersionUID = 1L;
    static final int MAX_PARTITION_KEY_CHARS = 256;

    private final SerializationSchema<T> serializationSchema;
    private final PartitionKeyGenerator<T> partitionKeyGenerator;

    public KinesisElementConverter(
            SerializationSchema<T> serializationSchema, PartitionKeyGenerator<T> partitionKeyGenerator) {
        this.serializationSchema = serializationSchema;
        this.partitionKeyGenerator = partitionKeyGenerator;
    }

    @Override
    public void open(WriterInitContext context) {
        try {
            serializationSchema.open(context.asSerializationSchemaInitializationContext());
        } catch (Exception e) {
            throw new IllegalStateException("Opening the serialization schema of the Kinesis sink failed", e);
        }
    }

    @Override
    public PutRecordsRequestEntry apply(T element, SinkWriter.Context context) {
        String key = partitionKeyGenerator.apply(element);
        // Kinesis rejects the whole PutRecords call for one bad key; fail here with the culprit instead.
        if (key == null || key.isEmpty() || key.length() > MAX_PARTITION_KEY_CHARS) {
            throw new IllegalArgumentException("PartitionKeyGenerator must return 1.." + MAX_PARTITION_KEY_CHARS
                    + " characters, got: " + (key == null ? "null" : "'" + key + "' (" + key.length() + " chars)"));
        }
        byte[] data = serializationSchema.serialize(element);
        if (data == null) {
            throw new IllegalArgumentException("SerializationSchema returned null for element " + element);
        }
        return PutRecordsRequestEntry.builder()
                .data(SdkBytes.fromByteArrayUnsafe(data))
                .partitionKey(key)
                .build();
    }
}
