package io.github.cdkstreamingpatterns.kcl;

import io.github.cdkstreamingpatterns.flink.common.Backoff;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.kinesis.exceptions.InvalidStateException;
import software.amazon.kinesis.exceptions.KinesisClientLibDependencyException;
import software.amazon.kinesis.exceptions.ShutdownException;
import software.amazon.kinesis.exceptions.ThrottlingException;
import software.amazon.kinesis.lifecycle.events.InitializationInput;
import software.amazon.kinesis.lifecycle.events.LeaseLostInput;
import software.amazon.kinesis.lifecycle.events.ProcessRecordsInput;
import software.amazon.kinesis.lifecycle.events.ShardEndedInput;
import software.amazon.kinesis.lifecycle.events.ShutdownRequestedInput;
import software.amazon.kinesis.processor.RecordProcessorCheckpointer;
import software.amazon.kinesis.processor.ShardRecordProcessor;
import software.amazon.kinesis.retrieval.KinesisClientRecord;

/**
 * Applies the records of one shard to the {@link DeviceStateTable} and checkpoints, per the KCL 3 contract: after
 * every batch, at shard end (required, or the child shards never start) and when the worker shuts down gracefully;
 * never after the lease is lost (another worker owns the shard and its checkpoint). The KCL has already
 * de-aggregated KPL records, each with its sub-sequence number.
 *
 * <p>A failed write is retried with backoff, not passed on: the KCL would log an exception thrown here and go on
 * with the next batch, whose checkpoint would then cover records never written. Retries end when the worker stops;
 * the batch is then not checkpointed and the next owner of the lease reads it again, which the conditional write makes
 * harmless.
 */
final class DeviceStateProcessor implements ShardRecordProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceStateProcessor.class);
    private static final int CHECKPOINT_ATTEMPTS = 10;

    private final DeviceStateTable table;
    private final ProcessingCounts counts;
    private final BooleanSupplier stopping;
    private final Backoff backoff;
    private final LongSupplier clock;
    private String shardId = "unknown";

    DeviceStateProcessor(
            DeviceStateTable table,
            ProcessingCounts counts,
            BooleanSupplier stopping,
            Backoff backoff,
            LongSupplier clock) {
        this.table = table;
        this.counts = counts;
        this.stopping = stopping;
        this.backoff = backoff;
        this.clock = clock;
    }

    @Override
    public void initialize(InitializationInput input) {
        shardId = input.shardId();
        LOG.info("{}: starting at {}", shardId, input.extendedSequenceNumber());
    }

    @Override
    public void processRecords(ProcessRecordsInput input) {
        for (KinesisClientRecord record : input.records()) {
            if (!apply(record)) {
                LOG.warn("{}: stopping while a write still failed; the batch is not checkpointed", shardId);
                return;
            }
        }
        checkpoint(input.checkpointer(), "batch");
    }

    @Override
    public void leaseLost(LeaseLostInput input) {
        // Another worker owns the shard now: checkpointing would fail, and it is that worker's to do.
        counts.leasesLost.increment();
        LOG.info("{}: lease lost", shardId);
    }

    @Override
    public void shardEnded(ShardEndedInput input) {
        counts.shardsEnded.increment();
        checkpoint(input.checkpointer(), "shard end");
    }

    @Override
    public void shutdownRequested(ShutdownRequestedInput input) {
        checkpoint(input.checkpointer(), "shutdown");
    }

    /** False when the worker stops before the record could be written. */
    private boolean apply(KinesisClientRecord record) {
        StringBuilder reason = new StringBuilder();
        Optional<DeviceEvent> event = DeviceEvent.parse(bytes(record.data()), reason);
        String position = RecordPosition.of(record.sequenceNumber(), record.subSequenceNumber());
        if (event.isEmpty()) {
            // Retrying cannot make it valid; the position in the log lets an operator find it in the stream.
            counts.invalid.increment();
            LOG.warn(
                    "{}: record at {} ({}) is not an enriched record: {}",
                    shardId,
                    position,
                    record.sequenceNumber(),
                    reason);
            return true;
        }
        for (int failures = 0; ; ) {
            try {
                if (table.apply(event.get(), position, shardId, clock.getAsLong())
                        == DeviceStateTable.Outcome.APPLIED) {
                    counts.applied.increment();
                } else {
                    counts.alreadyApplied.increment();
                }
                return true;
            } catch (RuntimeException e) {
                failures++;
                if (stopping.getAsBoolean()) {
                    return false;
                }
                long delay = backoff.delayMillis(failures);
                LOG.warn(
                        "{}: writing {} to {} failed ({} in a row), retrying in {} ms: {}",
                        shardId,
                        position,
                        table.tableName(),
                        failures,
                        delay,
                        e.toString());
                if (!sleep(delay)) {
                    return false;
                }
            }
        }
    }

    private void checkpoint(RecordProcessorCheckpointer checkpointer, String when) {
        for (int attempt = 1; attempt <= CHECKPOINT_ATTEMPTS; attempt++) {
            try {
                checkpointer.checkpoint();
                counts.checkpoints.increment();
                return;
            } catch (ThrottlingException | KinesisClientLibDependencyException e) {
                // Transient trouble with the lease table: the KCL asks for a retry with backoff.
                LOG.warn("{}: checkpoint at {} failed (attempt {}): {}", shardId, when, attempt, e.toString());
                if (!sleep(backoff.delayMillis(attempt))) {
                    return;
                }
            } catch (ShutdownException e) {
                // The lease moved on in the meantime; its new owner replays from the last checkpoint.
                LOG.info("{}: checkpoint at {} refused, the lease is gone: {}", shardId, when, e.getMessage());
                return;
            } catch (InvalidStateException e) {
                LOG.error(
                        "{}: checkpoint at {} failed, the lease table is not usable: {}", shardId, when, e.toString());
                return;
            }
        }
        LOG.error(
                "{}: checkpoint at {} failed {} times; the next batch checkpoints again",
                shardId,
                when,
                CHECKPOINT_ATTEMPTS);
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static byte[] bytes(ByteBuffer data) {
        ByteBuffer view = data.duplicate();
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }
}
