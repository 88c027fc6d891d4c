package io.github.cdkstreamingpatterns.flink.kinesis;

import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.ShardLister;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;

/** Test payloads "<partitionKey>|<n>" and direct SDK access to what a stream really holds. */
public final class KinesisTestData {
    private KinesisTestData() {}

    static String payload(int n, int keys) {
        return "device-" + String.format("%03d", n % keys) + "|" + n;
    }

    public static String keyOf(String payload) {
        return payload.substring(0, payload.indexOf('|'));
    }

    static String utf8(byte[] data) {
        return new String(data, StandardCharsets.UTF_8);
    }

    /** Writes payloads directly with the SDK (no retries needed against the local server: it has no quotas). */
    public static void putDirect(KinesisClientConfig config, List<String> payloads) {
        try (KinesisClient client = config.buildClient()) {
            for (int i = 0; i < payloads.size(); i += 500) {
                List<PutRecordsRequestEntry> entries = new ArrayList<>();
                for (String p : payloads.subList(i, Math.min(payloads.size(), i + 500))) {
                    entries.add(PutRecordsRequestEntry.builder()
                            .partitionKey(keyOf(p))
                            .data(SdkBytes.fromUtf8String(p))
                            .build());
                }
                PutRecordsResponse response = client.putRecords(PutRecordsRequest.builder()
                        .streamARN(config.streamArn())
                        .records(entries)
                        .build());
                if (response.failedRecordCount() != null && response.failedRecordCount() > 0) {
                    throw new IllegalStateException(
                            "Direct PutRecords failed for " + response.failedRecordCount() + " records");
                }
            }
        }
    }

    /** Everything each shard holds, in shard order, read with the SDK from TRIM_HORIZON. */
    static Map<String, List<Record>> readAll(KinesisClientConfig config) {
        Map<String, List<Record>> byShard = new LinkedHashMap<>();
        try (KinesisClient client = config.buildClient()) {
            for (Shard shard : ShardLister.of(config).listShards()) {
                List<Record> records = new ArrayList<>();
                String iterator = client.getShardIterator(GetShardIteratorRequest.builder()
                                .streamARN(config.streamArn())
                                .shardId(shard.shardId())
                                .shardIteratorType(ShardIteratorType.TRIM_HORIZON)
                                .build())
                        .shardIterator();
                while (iterator != null) {
                    GetRecordsResponse r = client.getRecords(GetRecordsRequest.builder()
                            .streamARN(config.streamArn())
                            .shardIterator(iterator)
                            .build());
                    records.addAll(r.records());
                    if (r.records().isEmpty() && (r.millisBehindLatest() == null || r.millisBehindLatest() == 0)) {
                        break;
                    }
                    iterator = r.nextShardIterator();
                }
                byShard.put(shard.shardId(), records);
            }
        }
        return byShard;
    }
}
