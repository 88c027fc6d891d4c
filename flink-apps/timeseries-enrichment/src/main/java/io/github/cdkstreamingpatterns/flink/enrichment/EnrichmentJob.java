package io.github.cdkstreamingpatterns.flink.enrichment;

import io.github.cdkstreamingpatterns.flink.common.ApplicationProperties;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSink;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSource;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.OutputTag;

/**
 * Time-series enrichment job: raw telemetry -> parse and validate -> dedupe by eventId -> event-time watermarks ->
 * enrich with device metadata -> enriched stream. Invalid records go to the dead-letter stream with their reason.
 *
 * <p>Property groups: {@code KinesisSource}, {@code KinesisSink}, {@code DeadLetterSink}, {@code Enrichment} (see
 * {@link EnrichmentSettings}) and {@code Processing} (optional, see {@link ProcessingSettings}). Deployed, they come
 * from Managed Service for Apache Flink; run locally, from {@value ApplicationProperties#DEV_FILE}.
 */
public final class EnrichmentJob {
    public static final String SOURCE_GROUP = "KinesisSource";
    public static final String SINK_GROUP = "KinesisSink";
    public static final String DEAD_LETTER_GROUP = "DeadLetterSink";
    public static final String ENRICHMENT_GROUP = "Enrichment";
    public static final String PROCESSING_GROUP = "Processing";

    /**
     * Managed Service for Apache Flink forwards to CloudWatch only metrics registered under the group
     * "kinesisanalytics"; the ("Pipeline", "enrichment") group becomes a CloudWatch dimension.
     */
    public static final String CLOUDWATCH_GROUP = "kinesisanalytics";

    /** Flink metric group (value of the Pipeline dimension) of every counter this job registers. */
    public static final String METRIC_GROUP = "enrichment";

    /** The metric group every operator of this job registers its counters in. */
    public static org.apache.flink.metrics.MetricGroup metricGroup(org.apache.flink.metrics.MetricGroup operatorGroup) {
        return operatorGroup.addGroup(CLOUDWATCH_GROUP).addGroup("Pipeline", METRIC_GROUP);
    }

    /**
     * Largest Kinesis record (data plus partition key) either sink accepts. Dead letters are cut to fit it and
     * enriched records above it are dead-lettered, because the sink fails the job on a larger record and the restart
     * would replay the same input and fail again.
     */
    public static final long MAX_RECORD_BYTES = KinesisStreamSink.MAX_RECORD_SIZE_BYTES;

    /** Side output of the validation and enrich steps. */
    public static final OutputTag<DeadLetterRecord> DEAD_LETTERS =
            new OutputTag<>("dead-letters", TypeInformation.of(DeadLetterRecord.class));

    private EnrichmentJob() {}

    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Map<String, Properties> groups = ApplicationProperties.load(env instanceof LocalStreamEnvironment);
        configure(env);
        createJob(env, groups);
        env.execute("timeseries-enrichment");
    }

    /**
     * The job's execution settings. Object reuse: without it Flink deep-copies every record between two chained
     * operators (a TelemetryRecord's or EnrichedRecord's maps included), which cost more CPU than any operator of the
     * job. No operator here keeps or changes a record after emitting it or passing it on (dedupe keeps only a hash,
     * the enrich step builds a new record, the sinks serialize on write), so the copies protect nothing.
     */
    public static void configure(StreamExecutionEnvironment env) {
        env.getConfig().enableObjectReuse();
    }

    /**
     * Wires the Kinesis source, the pipeline and both Kinesis sinks from the property groups. Builds the graph only:
     * no AWS call happens before the job runs. Configuration errors fail here, naming the key.
     */
    public static void createJob(StreamExecutionEnvironment env, Map<String, Properties> groups) {
        Properties sourceProps = ApplicationProperties.require(groups, SOURCE_GROUP);
        ProcessingSettings processing =
                ProcessingSettings.fromProperties(ApplicationProperties.optional(groups, PROCESSING_GROUP));
        EnrichmentSettings enrichment = EnrichmentSettings.fromProperties(
                ApplicationProperties.require(groups, ENRICHMENT_GROUP),
                sourceProps.getProperty(EnrichmentSettings.AWS_REGION));

        KinesisStreamSink<EnrichedRecord> enrichedSink = KinesisStreamSink.<EnrichedRecord>builder()
                .properties(ApplicationProperties.require(groups, SINK_GROUP))
                .serializationSchema(new EnrichedRecordSerializationSchema())
                .partitionKeyGenerator(EnrichedRecord::getDeviceId)
                .maxRecordSizeInBytes(MAX_RECORD_BYTES)
                .build();
        KinesisStreamSink<DeadLetterRecord> deadLetterSink = KinesisStreamSink.<DeadLetterRecord>builder()
                .properties(ApplicationProperties.require(groups, DEAD_LETTER_GROUP))
                .serializationSchema(new DeadLetterSerializationSchema())
                .partitionKeyGenerator(DeadLetterRecord::getPartitionKey)
                .maxRecordSizeInBytes(MAX_RECORD_BYTES)
                .build();

        DataStream<byte[]> raw = recordData(env, KinesisStreamSource.fromProperties(sourceProps));

        build(
                raw,
                processing,
                new S3ReferenceDataLoader(enrichment),
                enrichment.refreshInterval(),
                enrichedSink,
                deadLetterSink);
    }

    /**
     * The payloads of the records {@code source} reads, as the job reads them from Kinesis (the benchmark reads its
     * in-memory stand-in of the Kinesis source through this too).
     */
    public static DataStream<byte[]> recordData(StreamExecutionEnvironment env, Source<KinesisRecord, ?, ?> source) {
        // Watermarks are assigned after dedupe, from the record's own timestamp, so the source emits none.
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), "kinesis-raw-source")
                .uid("kinesis-raw-source")
                .map(KinesisRecord::data)
                .returns(PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .uid("record-data")
                .name("record-data");
    }

    /** The two outputs of the pipeline, before sinks are attached. */
    public static final class Pipeline {
        public final DataStream<EnrichedRecord> enriched;
        public final DataStream<DeadLetterRecord> deadLetters;

        Pipeline(DataStream<EnrichedRecord> enriched, DataStream<DeadLetterRecord> deadLetters) {
            this.enriched = enriched;
            this.deadLetters = deadLetters;
        }
    }

    /**
     * Builds the processing graph on the raw record payloads.
     *
     * @param raw record data as read from the raw stream
     * @param processing validation, dedupe and watermark settings
     * @param referenceLoader where device metadata comes from
     * @param referenceRefresh how often each subtask re-reads the reference data
     */
    public static Pipeline buildPipeline(
            DataStream<byte[]> raw,
            ProcessingSettings processing,
            ReferenceDataLoader referenceLoader,
            Duration referenceRefresh) {
        SingleOutputStreamOperator<TelemetryRecord> valid = raw.process(new ValidateFunction(processing))
                .returns(TypeInformation.of(TelemetryRecord.class))
                .uid("validate")
                .name("validate");

        DataStream<TelemetryRecord> unique = valid.keyBy(TelemetryRecord::getEventId, Types.STRING)
                .process(new DedupeFunction(processing.dedupeTtl()))
                .returns(TypeInformation.of(TelemetryRecord.class))
                .uid("dedupe")
                .name("dedupe-by-eventId");

        DataStream<TelemetryRecord> timestamped = unique.assignTimestampsAndWatermarks(watermarkStrategy(processing))
                .uid("event-time")
                .name("event-time-watermarks");

        SingleOutputStreamOperator<EnrichedRecord> enriched = timestamped
                .process(new EnrichFunction(referenceLoader, referenceRefresh))
                .returns(TypeInformation.of(EnrichedRecord.class))
                .uid("enrich")
                .name("enrich-device-metadata");

        return new Pipeline(enriched, valid.getSideOutput(DEAD_LETTERS).union(enriched.getSideOutput(DEAD_LETTERS)));
    }

    /** {@link #buildPipeline} with both outputs written to the given sinks. */
    public static void build(
            DataStream<byte[]> raw,
            ProcessingSettings processing,
            ReferenceDataLoader referenceLoader,
            Duration referenceRefresh,
            Sink<EnrichedRecord> enrichedSink,
            Sink<DeadLetterRecord> deadLetterSink) {
        Pipeline pipeline = buildPipeline(raw, processing, referenceLoader, referenceRefresh);
        pipeline.enriched.sinkTo(enrichedSink).uid("enriched-sink").name("enriched-sink");
        pipeline.deadLetters.sinkTo(deadLetterSink).uid("dead-letter-sink").name("dead-letter-sink");
    }

    /**
     * Event time from the record's timestamp, watermarks trailing the highest timestamp seen by {@code
     * max.out.of.orderness.seconds}; a subtask that receives nothing for {@code idle.timeout.seconds} is marked idle so
     * it does not hold back the watermark of the others.
     */
    public static WatermarkStrategy<TelemetryRecord> watermarkStrategy(ProcessingSettings processing) {
        return WatermarkStrategy.<TelemetryRecord>forBoundedOutOfOrderness(processing.maxOutOfOrderness())
                .withTimestampAssigner((record, previous) -> record.timestamp)
                .withIdleness(processing.idleTimeout());
    }
}
