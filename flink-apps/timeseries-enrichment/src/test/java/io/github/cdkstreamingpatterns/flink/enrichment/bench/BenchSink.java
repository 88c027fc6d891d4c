package io.github.cdkstreamingpatterns.flink.enrichment.bench;

import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * The discarding sink of the benchmark: serializes every element with the schema the job's Kinesis sink would use,
 * counts the bytes (so the work cannot be optimized away) and drops them; reports to {@link BenchMeter} at the end.
 */
final class BenchSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;

    private final SerializationSchema<T> schema;

    BenchSink(SerializationSchema<T> schema) {
        this.schema = schema;
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        return new SinkWriter<>() {
            private long records;
            private long bytes;

            @Override
            public void write(T element, Context ctx) {
                bytes += schema.serialize(element).length;
                records++;
            }

            @Override
            public void flush(boolean endOfInput) {
                if (endOfInput) {
                    BenchMeter.sinkFinished(records, bytes);
                }
            }

            @Override
            public void close() {}
        };
    }
}
