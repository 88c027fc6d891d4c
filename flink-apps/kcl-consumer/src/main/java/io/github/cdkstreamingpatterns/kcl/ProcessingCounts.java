package io.github.cdkstreamingpatterns.kcl;

import java.util.concurrent.atomic.LongAdder;

/** What the record processors of one worker did, summed over its shards (logged at shutdown, read by tests). */
public final class ProcessingCounts {
    final LongAdder applied = new LongAdder();
    final LongAdder alreadyApplied = new LongAdder();
    final LongAdder invalid = new LongAdder();
    final LongAdder checkpoints = new LongAdder();
    final LongAdder shardsEnded = new LongAdder();
    final LongAdder leasesLost = new LongAdder();

    /** Records written to the state table. */
    public long applied() {
        return applied.sum();
    }

    /** Records the table already held (replays after a lease moved, or out-of-order records). */
    public long alreadyApplied() {
        return alreadyApplied.sum();
    }

    /** Records that are not enriched records; logged with their position and left behind. */
    public long invalid() {
        return invalid.sum();
    }

    public long checkpoints() {
        return checkpoints.sum();
    }

    public long shardsEnded() {
        return shardsEnded.sum();
    }

    public long leasesLost() {
        return leasesLost.sum();
    }

    @Override
    public String toString() {
        return "applied=" + applied() + ", alreadyApplied=" + alreadyApplied() + ", invalid=" + invalid()
                + ", checkpoints=" + checkpoints() + ", shardsEnded=" + shardsEnded() + ", leasesLost="
                + leasesLost();
    }
}
