package io.github.cdkstreamingpatterns.flink.kinesis.source.event;

import java.util.List;
import java.util.Objects;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.source.SourceEvent;

/**
 * Sent by a reader to the enumerator when it has read closed shards to their end, so the enumerator can release
 * their child shards (parent-before-child ordering after resharding).
 */
@Internal
public final class ShardsFinishedEvent implements SourceEvent {
    private static final long serialVersionUID = 1L;

    private final List<String> shardIds;

    public ShardsFinishedEvent(List<String> shardIds) {
        this.shardIds = List.copyOf(shardIds);
    }

    public List<String> shardIds() {
        return shardIds;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShardsFinishedEvent && shardIds.equals(((ShardsFinishedEvent) o).shardIds);
    }

    @Override
    public int hashCode() {
        return Objects.hash(shardIds);
    }

    @Override
    public String toString() {
        return "ShardsFinishedEvent" + shardIds;
    }
}
