package io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator;

import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplitSerializer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Versioned binary form of {@link KinesisEnumeratorState}. */
public final class KinesisEnumeratorStateSerializer implements SimpleVersionedSerializer<KinesisEnumeratorState> {
    // Version 2 stores pending splits with their finished flag and sub-sequence number: a split a failed reader hands
    // back may stop inside a KPL aggregate, and dropping the index would skip the aggregate's remaining user records.
    static final int VERSION = 2;

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(KinesisEnumeratorState state) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(state.pendingSplits().size());
            for (KinesisShardSplit split : state.pendingSplits()) {
                KinesisShardSplitSerializer.writeWithProgress(split, out);
            }
            writeSet(state.assignedShards(), out);
            writeSet(state.finishedShards(), out);
            out.writeBoolean(state.initialDiscoveryDone());
        }
        return bytes.toByteArray();
    }

    @Override
    public KinesisEnumeratorState deserialize(int version, byte[] serialized) throws IOException {
        if (version < 1 || version > VERSION) {
            throw new IOException("Unsupported KinesisEnumeratorState serializer version " + version + " (expected 1.."
                    + VERSION + ")");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            int n = in.readInt();
            List<KinesisShardSplit> pending = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                pending.add(
                        version == 1
                                ? KinesisShardSplitSerializer.read(in)
                                : KinesisShardSplitSerializer.readWithProgress(
                                        in, KinesisShardSplitSerializer.VERSION));
            }
            Set<String> assigned = readSet(in);
            Set<String> finished = readSet(in);
            boolean initialDone = in.readBoolean();
            return new KinesisEnumeratorState(pending, assigned, finished, initialDone);
        }
    }

    private static void writeSet(Set<String> set, DataOutputStream out) throws IOException {
        out.writeInt(set.size());
        for (String s : set) {
            out.writeUTF(s);
        }
    }

    private static Set<String> readSet(DataInputStream in) throws IOException {
        int n = in.readInt();
        Set<String> set = new LinkedHashSet<>();
        for (int i = 0; i < n; i++) {
            set.add(in.readUTF());
        }
        return set;
    }
}
