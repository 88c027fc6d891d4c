package io.github.cdkstreamingpatterns.flink.kinesis.sink;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.annotation.Internal;
import org.apache.flink.connector.base.sink.writer.AsyncSinkWriterStateSerializer;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

/** Checkpoints the entries still buffered in the sink writer, so they are sent after a restore. */
@Internal
public final class KinesisSinkStateSerializer extends AsyncSinkWriterStateSerializer<PutRecordsRequestEntry> {
    @Override
    public int getVersion() {
        return 1;
    }

    @Override
    protected void serializeRequestToStream(PutRecordsRequestEntry entry, DataOutputStream out) throws IOException {
        out.writeUTF(entry.partitionKey());
        out.writeBoolean(entry.explicitHashKey() != null);
        if (entry.explicitHashKey() != null) {
            out.writeUTF(entry.explicitHashKey());
        }
        byte[] data = entry.data().asByteArrayUnsafe();
        out.writeInt(data.length);
        out.write(data);
    }

    @Override
    protected PutRecordsRequestEntry deserializeRequestFromStream(long requestSize, DataInputStream in)
            throws IOException {
        String key = in.readUTF();
        String hashKey = in.readBoolean() ? in.readUTF() : null;
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return PutRecordsRequestEntry.builder()
                .partitionKey(key)
                .explicitHashKey(hashKey)
                .data(SdkBytes.fromByteArrayUnsafe(data))
                .build();
    }
}
