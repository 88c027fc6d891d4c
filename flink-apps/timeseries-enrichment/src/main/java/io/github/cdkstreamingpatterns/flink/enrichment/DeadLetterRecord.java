package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A record that could not be processed, with why. JSON form (shared contract, written by
 * {@link DeadLetterSerializationSchema}): {@code {"reason","detail","stage","payload","payloadEncoding","at"}}, plus
 * {@code "truncated":true} when the payload was cut to fit the Kinesis record size limit.
 * {@code payloadEncoding} ("utf-8" or "base64") is an addition to the contract so a consumer can tell how to
 * recover the original bytes.
 */
public class DeadLetterRecord {
  /** Value of the {@code stage} field for records dead-lettered by this application. */
  public static final String STAGE = "timeseries-enrichment";

  /** Longest detail kept when a record has to be cut; details are short already, this only bounds the worst case. */
  static final int MAX_DETAIL_CHARS_WHEN_CUT = 4096;

  public String reason;
  public String detail;
  public String stage;
  public String payload;
  public String payloadEncoding;
  public long at;
  /** Set when {@code payload} is only a prefix of the original (cut by UTF-8 bytes to fit the record limit). */
  public boolean truncated;
  /** Kinesis partition key for the dead-letter stream; not part of the JSON body. */
  public String partitionKey;

  public DeadLetterRecord() {}

  /**
   * Builds a dead-letter record that carries the original bytes, as text when they are valid UTF-8, cut when needed
   * so that it fits in {@link EnrichmentJob#MAX_RECORD_BYTES}.
   */
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
    return fit(r, EnrichmentJob.MAX_RECORD_BYTES);
  }

  /**
   * The record, with its payload cut (and {@code truncated} set) when its JSON plus partition key exceed {@code
   * maxRecordBytes}. A dead letter the sink refuses for its size would fail the job on every restart, so it is cut,
   * never dropped. Same rule as the Lambda side's {@code fitEntry}.
   */
  static DeadLetterRecord fit(DeadLetterRecord r, long maxRecordBytes) {
    long limit = maxRecordBytes - r.partitionKey.getBytes(StandardCharsets.UTF_8).length;
    // Jackson writes at most 6 bytes per char (a control character as an escape); below that bound there is nothing to measure.
    long bound = 6L * (r.payload.length() + r.detail.length() + r.reason.length() + r.stage.length()) + 256;
    if (bound <= limit || serializedSize(r) <= limit) {
      return r;
    }
    DeadLetterRecord cut = copy(r);
    cut.truncated = true;
    if (cut.detail.length() > MAX_DETAIL_CHARS_WHEN_CUT) {
      cut.detail = cut.detail.substring(0, MAX_DETAIL_CHARS_WHEN_CUT);
    }
    cut.payload = "";
    long budget = limit - serializedSize(cut);
    if (budget < 0) {
      throw new IllegalStateException(
          "dead-letter record does not fit in " + limit + " bytes even without its payload");
    }
    char[] chars = r.payload.toCharArray();
    // Longest prefix whose escaped size fits: escaping and multi-byte characters make size non-linear in chars.
    int lo = 0;
    int hi = chars.length;
    while (lo < hi) {
      int mid = (int) (((long) lo + hi + 1) / 2);
      if (stringSize(chars, mid) - 2 <= budget) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    // Never end on half of a surrogate pair.
    if (lo > 0 && Character.isHighSurrogate(chars[lo - 1])) {
      lo--;
    }
    cut.payload = new String(chars, 0, lo);
    return cut;
  }

  private static DeadLetterRecord copy(DeadLetterRecord r) {
    DeadLetterRecord c = new DeadLetterRecord();
    c.reason = r.reason;
    c.detail = r.detail;
    c.stage = r.stage;
    c.payload = r.payload;
    c.payloadEncoding = r.payloadEncoding;
    c.at = r.at;
    c.truncated = r.truncated;
    c.partitionKey = r.partitionKey;
    return c;
  }

  private static long serializedSize(DeadLetterRecord r) {
    CountingStream out = new CountingStream();
    DeadLetterSerializationSchema.write(r, out);
    return out.count;
  }

  /** Bytes of the first {@code length} chars as a JSON string (quotes included), written as the schema writes it. */
  private static long stringSize(char[] chars, int length) {
    CountingStream out = new CountingStream();
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeString(chars, 0, length);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.count;
  }

  /** Counts bytes without keeping them. */
  private static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
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
        && truncated == that.truncated
        && Objects.equals(reason, that.reason)
        && Objects.equals(detail, that.detail)
        && Objects.equals(stage, that.stage)
        && Objects.equals(payload, that.payload)
        && Objects.equals(payloadEncoding, that.payloadEncoding)
        && Objects.equals(partitionKey, that.partitionKey);
  }

  @Override
  public int hashCode() {
    return Objects.hash(reason, detail, stage, payload, payloadEncoding, at, truncated, partitionKey);
  }

  @Override
  public String toString() {
    return "DeadLetterRecord{reason=" + reason + ", detail=" + detail + ", truncated=" + truncated + "}";
  }
}
