package io.github.cdkstreamingpatterns.flink.enrichment;

import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.util.OutputTag;

/**
 * Time-series enrichment job: raw telemetry -> parse and validate -> dedupe by eventId -> event-time watermarks ->
 * enrich with device metadata -> enriched stream. Invalid records go to the dead-letter stream with their reason.
 */
public final class EnrichmentJob {
  /** Flink metric group of every counter this job registers. */
  public static final String METRIC_GROUP = "enrichment";

  /** Side output of the validation step. */
  public static final OutputTag<DeadLetterRecord> DEAD_LETTERS =
      new OutputTag<>("dead-letters", TypeInformation.of(DeadLetterRecord.class));

  private EnrichmentJob() {}

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
    SingleOutputStreamOperator<TelemetryRecord> valid =
        raw.process(new ValidateFunction(processing))
            .returns(TypeInformation.of(TelemetryRecord.class))
            .uid("validate")
            .name("validate");

    DataStream<TelemetryRecord> unique =
        valid
            .keyBy(TelemetryRecord::getEventId, Types.STRING)
            .process(new DedupeFunction(processing.dedupeTtl()))
            .returns(TypeInformation.of(TelemetryRecord.class))
            .uid("dedupe")
            .name("dedupe-by-eventId");

    DataStream<TelemetryRecord> timestamped =
        unique
            .assignTimestampsAndWatermarks(watermarkStrategy(processing))
            .uid("event-time")
            .name("event-time-watermarks");

    DataStream<EnrichedRecord> enriched =
        timestamped
            .process(new EnrichFunction(referenceLoader, referenceRefresh))
            .returns(TypeInformation.of(EnrichedRecord.class))
            .uid("enrich")
            .name("enrich-device-metadata");

    return new Pipeline(enriched, valid.getSideOutput(DEAD_LETTERS));
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
