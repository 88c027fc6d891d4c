package io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator;

import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Checkpointed enumerator bookkeeping: shards discovered but not yet handed to a reader (with their start
 * position), shards handed out, and shards read to their end. Split progress itself lives in the readers' state.
 */
public final class KinesisEnumeratorState {
    private final List<KinesisShardSplit> pendingSplits;
    private final Set<String> assignedShards;
    private final Set<String> finishedShards;
    private final boolean initialDiscoveryDone;

    public KinesisEnumeratorState(
            List<KinesisShardSplit> pendingSplits,
            Set<String> assignedShards,
            Set<String> finishedShards,
            boolean initialDiscoveryDone) {
        this.pendingSplits = List.copyOf(pendingSplits);
        this.assignedShards = Collections.unmodifiableSet(new LinkedHashSet<>(assignedShards));
        this.finishedShards = Collections.unmodifiableSet(new LinkedHashSet<>(finishedShards));
        this.initialDiscoveryDone = initialDiscoveryDone;
    }

    public List<KinesisShardSplit> pendingSplits() {
        return pendingSplits;
    }

    public Set<String> assignedShards() {
        return assignedShards;
    }

    public Set<String> finishedShards() {
        return finishedShards;
    }

    /** After the first discovery, newly found shards are children of a reshard and start at TRIM_HORIZON. */
    public boolean initialDiscoveryDone() {
        return initialDiscoveryDone;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof KinesisEnumeratorState)) {
            return false;
        }
        KinesisEnumeratorState that = (KinesisEnumeratorState) o;
        return initialDiscoveryDone == that.initialDiscoveryDone
                && pendingSplits.equals(that.pendingSplits)
                && assignedShards.equals(that.assignedShards)
                && finishedShards.equals(that.finishedShards);
    }

    @Override
    public int hashCode() {
        return Objects.hash(pendingSplits, assignedShards, finishedShards, initialDiscoveryDone);
    }

    @Override
    public String toString() {
        return "KinesisEnumeratorState{pending=" + pendingSplits + ", assigned=" + assignedShards + ", finished="
                + finishedShards + ", initialDiscoveryDone=" + initialDiscoveryDone + '}';
    }
}
