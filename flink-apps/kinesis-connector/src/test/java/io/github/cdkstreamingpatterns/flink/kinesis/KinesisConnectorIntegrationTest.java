package io.github.cdkstreamingpatterns.flink.kinesis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.kinesis.model.Record;

/** End-to-end against a real local Kinesis server (kinesis-local) on a Flink MiniCluster. */
// A hang (a record that never arrives) must fail the build rather than block it; this is not a speed assertion.
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class KinesisConnectorIntegrationTest {
  @RegisterExtension
  static final KinesisLocalServer KINESIS = new KinesisLocalServer();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(4).build());

  @Test
  void sinkWritesEveryRecordAndSourceReadsEachExactlyOnceInShardOrder() throws Exception {
    // GIVEN a 2-shard stream and 1000 records over 40 partition keys
    KinesisClientConfig config = KINESIS.createStream(2);
    int n = 1000;
    List<String> payloads = IntStream.range(0, n).mapToObj(i -> KinesisTestData.payload(i, 40)).collect(Collectors.toList());

    // WHEN a bounded job writes them with the sink
    StreamExecutionEnvironment writer = StreamExecutionEnvironment.getExecutionEnvironment();
    writer.setParallelism(2);
    writer.fromData(payloads)
        .sinkTo(KinesisStreamSink.<String>builder()
            .clientConfig(config)
            .serializationSchema(new SimpleStringSchema())
            .partitionKeyGenerator(KinesisTestData::keyOf)
            .maxBatchSize(100)
            .build());
    writer.execute("write");

    // THEN the stream holds each record exactly once, spread over both shards
    Map<String, List<Record>> truth = KinesisTestData.readAll(config);
    assertThat(truth).hasSize(2);
    assertThat(truth.values()).allSatisfy(records -> assertThat(records).isNotEmpty());
    List<String> stored = truth.values().stream().flatMap(List::stream)
        .map(r -> r.data().asUtf8String()).collect(Collectors.toList());
    assertThat(stored).containsExactlyInAnyOrderElementsOf(payloads);
    assertThat(truth.values().stream().flatMap(List::stream))
        .allSatisfy(r -> assertThat(r.partitionKey()).isEqualTo(KinesisTestData.keyOf(r.data().asUtf8String())));

    // WHEN the source reads the stream from TRIM_HORIZON with 2 readers
    List<KinesisRecord> read = readN(config, n, 2);

    // THEN every record arrives exactly once, and each shard's records in the shard's own order
    assertThat(read.stream().map(r -> KinesisTestData.utf8(r.data()))).containsExactlyInAnyOrderElementsOf(payloads);
    Map<String, List<String>> readSeqByShard = new LinkedHashMap<>();
    for (KinesisRecord r : read) {
      readSeqByShard.computeIfAbsent(r.shardId(), k -> new ArrayList<>()).add(r.sequenceNumber());
    }
    for (Map.Entry<String, List<Record>> shard : truth.entrySet()) {
      assertThat(readSeqByShard.get(shard.getKey()))
          .as("records of %s in shard order", shard.getKey())
          .containsExactlyElementsOf(shard.getValue().stream().map(Record::sequenceNumber).collect(Collectors.toList()));
    }
    assertThat(read).allSatisfy(r -> {
      assertThat(r.partitionKey()).isEqualTo(KinesisTestData.keyOf(KinesisTestData.utf8(r.data())));
      assertThat(r.approximateArrivalTimestamp()).isPositive();
    });
  }

  static List<KinesisRecord> readN(KinesisClientConfig config, int n, int parallelism) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(parallelism);
    KinesisStreamSource source = KinesisStreamSource.builder()
        .clientConfig(config)
        .initialPosition(InitialPosition.TRIM_HORIZON)
        .pollIntervalMillis(50)
        .shardDiscoveryIntervalMillis(500)
        .build();
    List<KinesisRecord> read = new ArrayList<>();
    try (CloseableIterator<KinesisRecord> it =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "kinesis").executeAndCollect("read")) {
      while (read.size() < n) {
        read.add(it.next());
      }
    }
    Set<String> ids = new HashSet<>();
    for (KinesisRecord r : read) {
      assertThat(ids.add(r.shardId() + "/" + r.sequenceNumber())).as("duplicate %s", r).isTrue();
    }
    return read;
  }
}
