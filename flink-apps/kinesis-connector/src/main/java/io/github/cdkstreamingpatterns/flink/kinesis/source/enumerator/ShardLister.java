package io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator;

import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.annotation.Internal;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ListShardsRequest;
import software.amazon.awssdk.services.kinesis.model.ListShardsResponse;
import software.amazon.awssdk.services.kinesis.model.Shard;

/** Lists all shards of the stream (open and closed ones still within retention). */
@Internal
public interface ShardLister extends AutoCloseable {
    List<Shard> listShards();

    @Override
    void close();

    /** Pages through ListShards; the SDK retries throttling and transient errors. */
    static ShardLister of(KinesisClientConfig config) {
        KinesisClient client = config.buildClient();
        return new ShardLister() {
            @Override
            public List<Shard> listShards() {
                List<Shard> shards = new ArrayList<>();
                ListShardsResponse page = client.listShards(ListShardsRequest.builder()
                        .streamARN(config.streamArn())
                        .build());
                shards.addAll(page.shards());
                while (page.nextToken() != null) {
                    // With NextToken the stream must not be named again (API contract of ListShards).
                    page = client.listShards(ListShardsRequest.builder()
                            .nextToken(page.nextToken())
                            .build());
                    shards.addAll(page.shards());
                }
                return shards;
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }
}
