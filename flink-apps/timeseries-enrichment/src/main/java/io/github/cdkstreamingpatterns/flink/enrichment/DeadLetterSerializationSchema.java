package io.github.cdkstreamingpatterns.flink.enrichment;

import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;

/** Writes the dead-letter record contract as UTF-8 JSON. */
public final class DeadLetterSerializationSchema implements SerializationSchema<DeadLetterRecord> {
    private static final long serialVersionUID = 1L;

    /** The JSON form; {@link DeadLetters#fit} measures records in the same encoding, so both agree on the size. */
    @Override
    public byte[] serialize(DeadLetterRecord r) {
        return r.toJson(DeadLetters.ENCODING);
    }
}
