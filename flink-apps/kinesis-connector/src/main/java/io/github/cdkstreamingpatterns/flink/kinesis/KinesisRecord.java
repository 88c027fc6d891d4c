package io.github.cdkstreamingpatterns.flink.kinesis;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * One record read from a Kinesis shard.
 *
 * <p>Besides the accessor-style getters of the connector API ({@link #data()}, ...) it follows Flink's POJO rules
 * (public no-arg constructor, bean getters and setters) so Flink serializes it with its fast POJO serializer
 * instead of falling back to Kryo.
 */
public class KinesisRecord implements Serializable {
    private static final long serialVersionUID = 1L;

    private byte[] data;
    private String partitionKey;
    private String explicitHashKey;
    private String sequenceNumber;
    private long subSequenceNumber;
    private long approximateArrivalTimestamp;
    private String shardId;

    /** For Flink's POJO serializer. */
    public KinesisRecord() {}

    public KinesisRecord(
            byte[] data, String partitionKey, String sequenceNumber, long approximateArrivalTimestamp, String shardId) {
        this(data, partitionKey, null, sequenceNumber, 0L, approximateArrivalTimestamp, shardId);
    }

    /** A user record of a KPL aggregate: the aggregate's sequence number and arrival time, its own keys and index. */
    public KinesisRecord(
            byte[] data,
            String partitionKey,
            String explicitHashKey,
            String sequenceNumber,
            long subSequenceNumber,
            long approximateArrivalTimestamp,
            String shardId) {
        this.data = data;
        this.partitionKey = partitionKey;
        this.explicitHashKey = explicitHashKey;
        this.sequenceNumber = sequenceNumber;
        this.subSequenceNumber = subSequenceNumber;
        this.approximateArrivalTimestamp = approximateArrivalTimestamp;
        this.shardId = shardId;
    }

    /** The record payload, exactly as the producer wrote it (for a KPL user record: its own data, de-aggregated). */
    public byte[] data() {
        return data;
    }

    public String partitionKey() {
        return partitionKey;
    }

    /**
     * Decimal hash key the producer set to route the record, or {@code null}. Only KPL user records carry one: Kinesis
     * does not return the explicit hash key of a plain record.
     */
    public String explicitHashKey() {
        return explicitHashKey;
    }

    /**
     * Sequence number, increasing in write order within the shard; the user records of one KPL aggregate share the
     * aggregate's, and {@link #subSequenceNumber()} tells them apart.
     */
    public String sequenceNumber() {
        return sequenceNumber;
    }

    /** Index of a KPL user record within its aggregate (0 for the first one and for a plain record). */
    public long subSequenceNumber() {
        return subSequenceNumber;
    }

    /** Epoch millis at which Kinesis accepted the record. */
    public long approximateArrivalTimestamp() {
        return approximateArrivalTimestamp;
    }

    public String shardId() {
        return shardId;
    }

    public byte[] getData() {
        return data;
    }

    public void setData(byte[] data) {
        this.data = data;
    }

    public String getPartitionKey() {
        return partitionKey;
    }

    public void setPartitionKey(String partitionKey) {
        this.partitionKey = partitionKey;
    }

    public String getExplicitHashKey() {
        return explicitHashKey;
    }

    public void setExplicitHashKey(String explicitHashKey) {
        this.explicitHashKey = explicitHashKey;
    }

    public long getSubSequenceNumber() {
        return subSequenceNumber;
    }

    public void setSubSequenceNumber(long subSequenceNumber) {
        this.subSequenceNumber = subSequenceNumber;
    }

    public String getSequenceNumber() {
        return sequenceNumber;
    }

    public void setSequenceNumber(String sequenceNumber) {
        this.sequenceNumber = sequenceNumber;
    }

    public long getApproximateArrivalTimestamp() {
        return approximateArrivalTimestamp;
    }

    public void setApproximateArrivalTimestamp(long approximateArrivalTimestamp) {
        this.approximateArrivalTimestamp = approximateArrivalTimestamp;
    }

    public String getShardId() {
        return shardId;
    }

    public void setShardId(String shardId) {
        this.shardId = shardId;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof KinesisRecord)) {
            return false;
        }
        KinesisRecord that = (KinesisRecord) o;
        return approximateArrivalTimestamp == that.approximateArrivalTimestamp
                && subSequenceNumber == that.subSequenceNumber
                && Arrays.equals(data, that.data)
                && Objects.equals(partitionKey, that.partitionKey)
                && Objects.equals(explicitHashKey, that.explicitHashKey)
                && Objects.equals(sequenceNumber, that.sequenceNumber)
                && Objects.equals(shardId, that.shardId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                Arrays.hashCode(data),
                partitionKey,
                explicitHashKey,
                sequenceNumber,
                subSequenceNumber,
                approximateArrivalTimestamp,
                shardId);
    }

    @Override
    public String toString() {
        return "KinesisRecord{shardId='" + shardId + "', sequenceNumber='" + sequenceNumber + "'"
                + (subSequenceNumber == 0 ? "" : ", subSequenceNumber=" + subSequenceNumber) + ", partitionKey='"
                + partitionKey + "'" + (explicitHashKey == null ? "" : ", explicitHashKey='" + explicitHashKey + "'")
                + ", bytes=" + (data == null ? 0 : data.length) + ", arrival=" + approximateArrivalTimestamp
                + '}';
    }
}
