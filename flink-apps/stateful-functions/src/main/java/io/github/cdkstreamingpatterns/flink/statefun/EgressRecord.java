package io.github.cdkstreamingpatterns.flink.statefun;

import java.nio.charset.StandardCharsets;

/** A record for one egress stream: the egress name routes it to its sink, {@code json} is the record written. */
public class EgressRecord {
    public String egress;
    public String partitionKey;
    public String json;

    public EgressRecord() {}

    public EgressRecord(String egress, String partitionKey, String json) {
        this.egress = egress;
        this.partitionKey = partitionKey;
        this.json = json;
    }

    public byte[] bytes() {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "EgressRecord{" + egress + ", " + json + "}";
    }
}
