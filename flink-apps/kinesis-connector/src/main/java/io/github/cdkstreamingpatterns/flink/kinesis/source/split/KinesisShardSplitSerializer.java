package io.github.cdkstreamingpatterns.flink.kinesis.source.split;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned binary form of {@link KinesisShardSplit}, stored in checkpoints and savepoints. */
public final class KinesisShardSplitSerializer implements SimpleVersionedSerializer<KinesisShardSplit> {
    // Version 2 adds the finished flag after the version-1 fields, version 3 the last sub-sequence number after it.
    public static final int VERSION = 3;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(KinesisShardSplit split) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writeWithProgress(split, out);
        }
        return bytes.toByteArray();
    }

    @Override
    public KinesisShardSplit deserialize(int version, byte[] serialized) throws IOException {
        if (version < 1 || version > VERSION) {
            throw new IOException(
                    "Unsupported KinesisShardSplit serializer version " + version + " (expected 1.." + VERSION + ")");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            if (version == 1) {
                return read(in);
            }
            return readWithProgress(in, version);
        }
    }

    /** The version-3 layout, also used inside the enumerator's state for splits handed back by a failed reader. */
    public static void writeWithProgress(KinesisShardSplit split, DataOutputStream out) throws IOException {
        write(split, out);
        out.writeBoolean(split.isFinished());
        out.writeLong(split.lastSubSequenceNumber());
    }

    /** Reads {@link #writeWithProgress} output of {@code version} 2 (no sub-sequence number) or 3. */
    public static KinesisShardSplit readWithProgress(DataInputStream in, int version) throws IOException {
        KinesisShardSplit split = read(in);
        boolean finished = in.readBoolean();
        long sub = version >= 3 ? in.readLong() : KinesisShardSplit.NO_SUB_SEQUENCE_NUMBER;
        split = split.withPosition(split.lastSequenceNumber(), sub);
        return finished ? split.asFinished() : split;
    }

    static void write(KinesisShardSplit split, DataOutputStream out) throws IOException {
        out.writeUTF(split.shardId());
        out.writeUTF(split.startPosition().name());
        out.writeLong(split.startTimestampMillis());
        out.writeBoolean(split.lastSequenceNumber() != null);
        if (split.lastSequenceNumber() != null) {
            out.writeUTF(split.lastSequenceNumber());
        }
    }

    public static KinesisShardSplit read(DataInputStream in) throws IOException {
        String shardId = in.readUTF();
        InitialPosition position = InitialPosition.valueOf(in.readUTF());
        long timestamp = in.readLong();
        String last = in.readBoolean() ? in.readUTF() : null;
        return new KinesisShardSplit(shardId, position, timestamp, last);
    }
}
