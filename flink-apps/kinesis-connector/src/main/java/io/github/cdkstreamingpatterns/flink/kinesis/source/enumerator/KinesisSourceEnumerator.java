package io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.source.event.ShardsFinishedEvent;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.util.FlinkRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.Shard;

/**
 * Discovers shards with ListShards every {@code shardDiscoveryIntervalMillis} and hands each shard to one reader.
 *
 * <p>Ordering after resharding: a shard is assigned only once every parent ({@code ParentShardId} and
 * {@code AdjacentParentShardId}) has been read to its end (reported by the reader with a {@link
 * ShardsFinishedEvent}) or has left the stream's retention window. Records of one partition key therefore stay in
 * order across splits and merges.
 *
 * <p>Start positions: shards seen at the first discovery of a fresh job start at the configured {@link
 * InitialPosition} (with {@code LATEST}, closed shards are skipped since they can never receive new records); shards
 * discovered later are children of a reshard and start at {@code TRIM_HORIZON} so nothing written to them is lost.
 */
@Internal
public final class KinesisSourceEnumerator implements SplitEnumerator<KinesisShardSplit, KinesisEnumeratorState> {
    private static final Logger LOG = LoggerFactory.getLogger(KinesisSourceEnumerator.class);

    private final SplitEnumeratorContext<KinesisShardSplit> context;
    private final ShardLister lister;
    private final String streamArn;
    private final InitialPosition initialPosition;
    private final long initialTimestampMillis;
    private final long discoveryIntervalMillis;

    // Sorted by shard id so assignment order is deterministic (older shards have smaller ids).
    private final TreeMap<String, KinesisShardSplit> pending = new TreeMap<>();
    private final Set<String> assigned = new LinkedHashSet<>();
    private final Set<String> finished = new LinkedHashSet<>();
    private final Map<String, Integer> ownerByShard = new HashMap<>();
    private Map<String, Shard> lastListing;
    private boolean initialDiscoveryDone;

    public KinesisSourceEnumerator(
            SplitEnumeratorContext<KinesisShardSplit> context,
            ShardLister lister,
            String streamArn,
            InitialPosition initialPosition,
            long initialTimestampMillis,
            long discoveryIntervalMillis,
            KinesisEnumeratorState restored) {
        this.context = context;
        this.lister = lister;
        this.streamArn = streamArn;
        this.initialPosition = initialPosition;
        this.initialTimestampMillis = initialTimestampMillis;
        this.discoveryIntervalMillis = discoveryIntervalMillis;
        if (restored != null) {
            for (KinesisShardSplit split : restored.pendingSplits()) {
                pending.put(split.shardId(), split);
            }
            assigned.addAll(restored.assignedShards());
            finished.addAll(restored.finishedShards());
            initialDiscoveryDone = restored.initialDiscoveryDone();
        }
    }

    @Override
    public void start() {
        context.callAsync(lister::listShards, this::onShardsListed, 0, discoveryIntervalMillis);
    }

    /** Runs in the coordinator thread with the result of one ListShards pass. */
    void onShardsListed(List<Shard> shards, Throwable error) {
        if (error != null) {
            if (error instanceof ResourceNotFoundException) {
                throw new FlinkRuntimeException(
                        "Kinesis stream " + streamArn + " does not exist or is not visible with these credentials: "
                                + error.getMessage(),
                        error);
            }
            // Discovery is periodic; a transient failure (the SDK already retried) only delays new shards.
            LOG.warn("Listing shards of {} failed; retrying in {} ms", streamArn, discoveryIntervalMillis, error);
            return;
        }
        Map<String, Shard> listing = new LinkedHashMap<>();
        for (Shard shard : shards) {
            listing.put(shard.shardId(), shard);
        }
        for (Shard shard : listing.values()) {
            String id = shard.shardId();
            if (assigned.contains(id) || finished.contains(id) || pending.containsKey(id)) {
                continue;
            }
            if (!initialDiscoveryDone) {
                boolean closed = shard.sequenceNumberRange() != null
                        && shard.sequenceNumberRange().endingSequenceNumber() != null;
                if (initialPosition == InitialPosition.LATEST && closed) {
                    finished.add(id);
                } else {
                    pending.put(id, new KinesisShardSplit(id, initialPosition, initialTimestampMillis, null));
                }
            } else {
                LOG.info(
                        "Discovered new shard {} of {} (parents {}, {})",
                        id,
                        streamArn,
                        shard.parentShardId(),
                        shard.adjacentParentShardId());
                pending.put(id, new KinesisShardSplit(id, InitialPosition.TRIM_HORIZON, 0L, null));
            }
        }
        initialDiscoveryDone = true;
        // Shards past retention can never be parents of an unread shard again; forget them so state stays small.
        finished.retainAll(listing.keySet());
        lastListing = listing;
        assignPending();
    }

    private boolean parentsDone(String shardId) {
        Shard shard = lastListing.get(shardId);
        if (shard == null) {
            // Restored pending split that vanished from the stream (past retention): nothing left to read in order.
            return true;
        }
        return parentDone(shard.parentShardId()) && parentDone(shard.adjacentParentShardId());
    }

    private boolean parentDone(String parentId) {
        if (parentId == null || finished.contains(parentId)) {
            return true;
        }
        boolean known = assigned.contains(parentId) || pending.containsKey(parentId);
        // A parent no longer listed and not tracked has expired from the stream.
        return !known && !lastListing.containsKey(parentId);
    }

    private void assignPending() {
        if (lastListing == null || pending.isEmpty()) {
            return;
        }
        Set<Integer> registered = context.registeredReaders().keySet();
        // Balance over all subtasks, not just the registered ones: otherwise the first reader to register would get
        // every shard of the first discovery. A split whose target has not registered yet waits for addReader().
        Map<Integer, Integer> load = new TreeMap<>();
        for (int i = 0; i < context.currentParallelism(); i++) {
            load.put(i, 0);
        }
        for (Integer owner : ownerByShard.values()) {
            load.computeIfPresent(owner, (k, v) -> v + 1);
        }
        Map<Integer, List<KinesisShardSplit>> assignment = new TreeMap<>();
        List<String> readyIds = new ArrayList<>();
        for (String id : pending.keySet()) {
            if (parentsDone(id)) {
                readyIds.add(id);
            }
        }
        for (String id : readyIds) {
            int target = leastLoaded(load);
            if (target < 0 || !registered.contains(target)) {
                break;
            }
            KinesisShardSplit split = pending.remove(id);
            load.merge(target, 1, Integer::sum);
            assignment.computeIfAbsent(target, k -> new ArrayList<>()).add(split);
            assigned.add(id);
            ownerByShard.put(id, target);
        }
        if (!assignment.isEmpty()) {
            LOG.info("Assigning shards of {}: {}", streamArn, assignment);
            context.assignSplits(new SplitsAssignment<>(assignment));
        }
    }

    /** Lowest subtask index among those with the fewest active shards, or -1 if there are none. */
    private static int leastLoaded(Map<Integer, Integer> load) {
        int best = -1;
        int bestLoad = Integer.MAX_VALUE;
        for (Map.Entry<Integer, Integer> e : load.entrySet()) {
            if (e.getValue() < bestLoad) {
                best = e.getKey();
                bestLoad = e.getValue();
            }
        }
        return best;
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
        if (sourceEvent instanceof ShardsFinishedEvent) {
            for (String id : ((ShardsFinishedEvent) sourceEvent).shardIds()) {
                assigned.remove(id);
                ownerByShard.remove(id);
                finished.add(id);
            }
            assignPending();
        }
    }

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {
        // Splits are pushed as they are discovered; readers never ask.
    }

    @Override
    public void addSplitsBack(List<KinesisShardSplit> splits, int subtaskId) {
        // A reader failed before checkpointing these; they come back with their last checkpointed progress.
        for (KinesisShardSplit split : splits) {
            assigned.remove(split.shardId());
            ownerByShard.remove(split.shardId());
            pending.put(split.shardId(), split);
        }
        assignPending();
    }

    @Override
    public void addReader(int subtaskId) {
        assignPending();
    }

    @Override
    public KinesisEnumeratorState snapshotState(long checkpointId) {
        return new KinesisEnumeratorState(new ArrayList<>(pending.values()), assigned, finished, initialDiscoveryDone);
    }

    @Override
    public void close() {
        lister.close();
    }
}
