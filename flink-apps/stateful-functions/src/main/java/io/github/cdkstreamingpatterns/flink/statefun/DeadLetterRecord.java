package io.github.cdkstreamingpatterns.flink.statefun;

import java.nio.charset.StandardCharsets;

/** A dead-letter record ready for the dead-letter stream; {@code json} follows the shared dead-letter format. */
public class DeadLetterRecord {
    public String reason;
    public String partitionKey;
    public String json;

    public DeadLetterRecord() {}

    public DeadLetterRecord(String reason, String partitionKey, String json) {
        this.reason = reason;
        this.partitionKey = partitionKey;
        this.json = json;
    }

    public byte[] bytes() {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "DeadLetterRecord{" + json + "}";
    }
}
