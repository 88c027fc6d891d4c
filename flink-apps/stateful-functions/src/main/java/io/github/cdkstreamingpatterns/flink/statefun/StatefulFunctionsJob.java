package io.github.cdkstreamingpatterns.flink.statefun;

import io.github.cdkstreamingpatterns.flink.common.ApplicationProperties;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSink;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSource;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Entry point: reads envelopes from the event-store stream, runs the stateful functions, writes egress records to
 * one Kinesis stream per egress and dead letters to the dead-letter stream.
 */
public final class StatefulFunctionsJob {
    private static final long LOCAL_CHECKPOINT_INTERVAL_MS = 10_000;

    private StatefulFunctionsJob() {}

    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (env instanceof LocalStreamEnvironment && !env.getCheckpointConfig().isCheckpointingEnabled()) {
            // Managed Flink configures checkpointing itself; local runs need it for exactly-once state.
            env.enableCheckpointing(LOCAL_CHECKPOINT_INTERVAL_MS);
        }
        build(env, JobSettings.from(ApplicationProperties.load(env instanceof LocalStreamEnvironment)));
        env.execute("stateful-functions");
    }

    static void build(StreamExecutionEnvironment env, JobSettings settings) {
        DataStream<byte[]> envelopes = env.fromSource(
                        KinesisStreamSource.fromProperties(settings.source()),
                        WatermarkStrategy.noWatermarks(),
                        "event-store")
                .uid("event-store-source")
                .map(new RecordData(), PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .name("record-data")
                .uid("record-data");
        StatefulFunctionsTopology.Outputs outputs = StatefulFunctionsTopology.build(envelopes, settings.dispatcher());

        for (Map.Entry<String, Properties> egress : settings.egress().entrySet()) {
            String name = egress.getKey();
            outputs.egress
                    .filter(new EgressFilter(name))
                    .name("egress-" + name)
                    .uid("egress-filter-" + name)
                    .sinkTo(KinesisStreamSink.<EgressRecord>builder()
                            .clientConfig(KinesisClientConfig.fromProperties(egress.getValue()))
                            .serializationSchema(new EgressSerializer())
                            .partitionKeyGenerator(record -> record.partitionKey)
                            .maxRecordSizeInBytes(FunctionResponse.MAX_RECORD_BYTES)
                            .build())
                    .name("egress-sink-" + name)
                    .uid("egress-sink-" + name);
        }
        outputs.deadLetters
                .sinkTo(KinesisStreamSink.<DeadLetterRecord>builder()
                        .clientConfig(KinesisClientConfig.fromProperties(settings.deadLetters()))
                        .serializationSchema(new DeadLetterSerializer())
                        .partitionKeyGenerator(record -> record.partitionKey)
                        .maxRecordSizeInBytes(FunctionResponse.MAX_RECORD_BYTES)
                        .build())
                .name("dead-letter-sink")
                .uid("dead-letter-sink");
    }

    static final class RecordData implements MapFunction<KinesisRecord, byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] map(KinesisRecord record) {
            return record.data();
        }
    }

    static final class EgressFilter implements FilterFunction<EgressRecord> {
        private static final long serialVersionUID = 1L;
        private final String name;

        EgressFilter(String name) {
            this.name = name;
        }

        @Override
        public boolean filter(EgressRecord record) {
            return name.equals(record.egress);
        }
    }

    static final class EgressSerializer implements SerializationSchema<EgressRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] serialize(EgressRecord record) {
            return record.bytes();
        }
    }

    static final class DeadLetterSerializer implements SerializationSchema<DeadLetterRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] serialize(DeadLetterRecord record) {
            return record.toJson(DeadLetters.ENCODING);
        }
    }
}
