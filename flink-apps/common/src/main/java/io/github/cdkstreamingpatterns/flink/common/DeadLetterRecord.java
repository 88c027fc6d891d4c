package io.github.cdkstreamingpatterns.flink.common;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A record that could not be processed, with why: the dead-letter contract of {@code docs/guarantees.md}, shared with
 * the Lambda runtime. JSON form, in this order: {@code {"reason","detail","stage","payload","payloadEncoding","at"}},
 * {@code "payloadEncoding"} ("utf-8" or "base64", so a consumer can tell how to recover the original bytes) only when
 * set, plus {@code "truncated":true} when the payload was cut to fit the Kinesis record size limit.
 *
 * <p>The applications write the same fields but not the same bytes for some characters, and their output must not
 * change: the {@link Encoding} says which bytes.
 */
public class DeadLetterRecord {
    /** How the JSON text becomes bytes; the two differ only for characters outside the BMP and lone surrogates. */
    public enum Encoding {
        /**
         * Jackson's UTF-8 generator (timeseries-enrichment): a character outside the BMP is written as two {@code \\u}
         * escapes of its surrogates, a lone surrogate as one.
         */
        ESCAPED_SURROGATES,
        /**
         * Jackson's text writer, then UTF-8 as {@link String#getBytes} writes it (stateful-functions): a character outside
         * the BMP as its four UTF-8 bytes, a lone surrogate as {@code '?'}.
         */
        STRING_UTF8
    }

    /** Longest detail kept when a record has to be cut; details may be unbounded (a function's rejection reason). */
    public static final int MAX_DETAIL_CHARS_WHEN_CUT = 4096;

    public String reason;
    public String detail;
    public String stage;
    public String payload;
    /** "utf-8" or "base64"; null leaves the field out. */
    public String payloadEncoding;

    public long at;
    /** Set when {@code payload} is only a prefix of the original (cut by UTF-8 bytes to fit the record limit). */
    public boolean truncated;
    /** Kinesis partition key for the dead-letter stream; not part of the JSON body. */
    public String partitionKey;

    public DeadLetterRecord() {}

    public DeadLetterRecord(
            String reason,
            String detail,
            String stage,
            String payload,
            String payloadEncoding,
            long at,
            String partitionKey) {
        this.reason = reason;
        this.detail = detail;
        this.stage = stage;
        this.payload = payload;
        this.payloadEncoding = payloadEncoding;
        this.at = at;
        this.partitionKey = partitionKey;
    }

    /** The JSON body. */
    public byte[] toJson(Encoding encoding) {
        if (encoding == Encoding.STRING_UTF8) {
            return text().getBytes(StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + (payload == null ? 0 : payload.length()));
        write(out);
        return out.toByteArray();
    }

    /** Bytes of {@link #toJson}, without keeping them. */
    public long serializedSize(Encoding encoding) {
        if (encoding == Encoding.STRING_UTF8) {
            return Json.utf8Length(text());
        }
        CountingStream out = new CountingStream();
        write(out);
        return out.count;
    }

    private void write(OutputStream out) {
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            writeFields(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String text() {
        StringWriter out = new StringWriter(256 + (payload == null ? 0 : payload.length()));
        try (JsonGenerator g = Json.FACTORY.createGenerator((Writer) out)) {
            writeFields(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private void writeFields(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("reason", reason);
        g.writeStringField("detail", detail);
        g.writeStringField("stage", stage);
        g.writeStringField("payload", payload);
        if (payloadEncoding != null) {
            g.writeStringField("payloadEncoding", payloadEncoding);
        }
        g.writeNumberField("at", at);
        if (truncated) {
            g.writeBooleanField("truncated", true);
        }
        g.writeEndObject();
    }

    /**
     * The record, with its payload cut to its longest fitting prefix (and {@code truncated} set, the detail cut to
     * {@link #MAX_DETAIL_CHARS_WHEN_CUT}) when its JSON plus partition key exceed {@code maxRecordBytes}. A dead letter
     * the sink refuses for its size would fail the job on every restart, so it is cut, never dropped. The cut never ends
     * on half of a surrogate pair. Same rule as the Lambda side's {@code fitEntry}.
     */
    public static DeadLetterRecord fit(DeadLetterRecord r, long maxRecordBytes, Encoding encoding) {
        long limit = maxRecordBytes - Json.utf8Length(r.partitionKey);
        // Either encoding writes at most 6 bytes per char (a control character as an escape); below that bound there is
        // nothing to measure.
        long bound = 6L
                        * (length(r.payload)
                                + length(r.detail)
                                + length(r.reason)
                                + length(r.stage)
                                + length(r.payloadEncoding))
                + 256;
        if (bound <= limit || r.serializedSize(encoding) <= limit) {
            return r;
        }
        DeadLetterRecord cut = r.copy();
        cut.truncated = true;
        if (cut.detail != null && cut.detail.length() > MAX_DETAIL_CHARS_WHEN_CUT) {
            cut.detail = cut.detail.substring(0, MAX_DETAIL_CHARS_WHEN_CUT);
        }
        cut.payload = "";
        long budget = limit - cut.serializedSize(encoding);
        if (budget < 0) {
            throw new IllegalStateException(
                    "dead-letter record does not fit in " + limit + " bytes even without its payload");
        }
        char[] chars = r.payload == null ? new char[0] : r.payload.toCharArray();
        // Longest prefix whose escaped size fits: escaping and multi-byte characters make size non-linear in chars.
        int lo = 0;
        int hi = chars.length;
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (stringSize(chars, mid, encoding) - 2 <= budget) {
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

    private static long length(String s) {
        return s == null ? 0 : s.length();
    }

    /** Bytes of the first {@code length} chars as a JSON string (quotes included), written as {@link #toJson} writes it. */
    private static long stringSize(char[] chars, int length, Encoding encoding) {
        try {
            if (encoding == Encoding.STRING_UTF8) {
                StringWriter out = new StringWriter(length + 2);
                try (JsonGenerator g = Json.FACTORY.createGenerator((Writer) out)) {
                    g.writeString(chars, 0, length);
                }
                return Json.utf8Length(out.toString());
            }
            CountingStream out = new CountingStream();
            try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
                g.writeString(chars, 0, length);
            }
            return out.count;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private DeadLetterRecord copy() {
        DeadLetterRecord c = new DeadLetterRecord(reason, detail, stage, payload, payloadEncoding, at, partitionKey);
        c.truncated = truncated;
        return c;
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
