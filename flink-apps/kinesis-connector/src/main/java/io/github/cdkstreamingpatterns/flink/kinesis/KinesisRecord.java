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
  private String sequenceNumber;
  private long approximateArrivalTimestamp;
  private String shardId;

  /** For Flink's POJO serializer. */
  public KinesisRecord() {}

  public KinesisRecord(
      byte[] data,
      String partitionKey,
      String sequenceNumber,
      long approximateArrivalTimestamp,
      String shardId) {
    this.data = data;
    this.partitionKey = partitionKey;
    this.sequenceNumber = sequenceNumber;
    this.approximateArrivalTimestamp = approximateArrivalTimestamp;
    this.shardId = shardId;
  }

  /** The record payload, exactly as the producer wrote it. */
  public byte[] data() {
    return data;
  }

  public String partitionKey() {
    return partitionKey;
  }

  /** Sequence number, unique within the shard and increasing in write order. */
  public String sequenceNumber() {
    return sequenceNumber;
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
        && Arrays.equals(data, that.data)
        && Objects.equals(partitionKey, that.partitionKey)
        && Objects.equals(sequenceNumber, that.sequenceNumber)
        && Objects.equals(shardId, that.shardId);
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(data), partitionKey, sequenceNumber, approximateArrivalTimestamp, shardId);
  }

  @Override
  public String toString() {
    return "KinesisRecord{shardId='" + shardId + "', sequenceNumber='" + sequenceNumber + "', partitionKey='"
        + partitionKey + "', bytes=" + (data == null ? 0 : data.length) + ", arrival=" + approximateArrivalTimestamp
        + '}';
  }
}
