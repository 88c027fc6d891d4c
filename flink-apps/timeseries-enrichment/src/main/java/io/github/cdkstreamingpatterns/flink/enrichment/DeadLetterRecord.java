package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A record that could not be processed, with why. JSON form (shared contract, written by
 * {@link DeadLetterSerializationSchema}): {@code {"reason","detail","stage","payload","payloadEncoding","at"}}.
 * {@code payloadEncoding} ("utf-8" or "base64") is an addition to the contract so a consumer can tell how to
 * recover the original bytes.
 */
public class DeadLetterRecord {
  /** Value of the {@code stage} field for records dead-lettered by this application. */
  public static final String STAGE = "timeseries-enrichment";

  public String reason;
  public String detail;
  public String stage;
  public String payload;
  public String payloadEncoding;
  public long at;
  /** Kinesis partition key for the dead-letter stream; not part of the JSON body. */
  public String partitionKey;

  public DeadLetterRecord() {}

  /** Builds a dead-letter record that carries the original bytes, as text when they are valid UTF-8. */
  public static DeadLetterRecord of(DeadLetterReason reason, String detail, byte[] original, long at) {
    DeadLetterRecord r = new DeadLetterRecord();
    r.reason = reason.name();
    r.detail = detail;
    r.stage = STAGE;
    String text = Json.strictUtf8(original);
    if (text != null) {
      r.payload = text;
      r.payloadEncoding = "utf-8";
    } else {
      r.payload = Base64.getEncoder().encodeToString(original);
      r.payloadEncoding = "base64";
    }
    r.at = at;
    // Same bytes -> same shard; different bad records spread over the shards (Kinesis hashes the key with MD5).
    r.partitionKey = "dlq-" + Integer.toHexString(Arrays.hashCode(original));
    return r;
  }

  public String getPartitionKey() {
    return partitionKey;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof DeadLetterRecord)) {
      return false;
    }
    DeadLetterRecord that = (DeadLetterRecord) o;
    return at == that.at
        && Objects.equals(reason, that.reason)
        && Objects.equals(detail, that.detail)
        && Objects.equals(stage, that.stage)
        && Objects.equals(payload, that.payload)
        && Objects.equals(payloadEncoding, that.payloadEncoding)
        && Objects.equals(partitionKey, that.partitionKey);
  }

  @Override
  public int hashCode() {
    return Objects.hash(reason, detail, stage, payload, payloadEncoding, at, partitionKey);
  }

  @Override
  public String toString() {
    return "DeadLetterRecord{reason=" + reason + ", detail=" + detail + "}";
  }
}
