package io.github.cdkstreamingpatterns.flink.kinesis.aggregation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * Decodes KPL aggregates: 4 magic bytes, a protobuf {@code AggregatedRecord}, then the MD5 of the protobuf bytes.
 *
 * <pre>
 * message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                            repeated Record records = 3; }
 * message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                  required bytes data = 3; repeated Tag tags = 4; }
 * </pre>
 *
 * <p>Parsed by hand (varints and length-delimited fields) so the applications do not shade a protobuf runtime for
 * two messages. Follows protobuf's rules where they matter: unknown fields and fields with an unexpected wire type
 * are skipped, the last value of a repeated scalar wins, invalid UTF-8 in a key decodes with replacement characters.
 */
@Internal
public final class KplDeaggregator {
    static final byte[] MAGIC = {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2};
    static final int DIGEST_BYTES = 16;
    private static final int MAX_GROUP_DEPTH = 100;

    private KplDeaggregator() {}

    /** One user record of an aggregate; {@code explicitHashKey} is null when the producer set none. */
    public record UserRecord(String partitionKey, String explicitHashKey, byte[] data) {}

    /**
     * The user records of a KPL aggregate, in order, or {@code null} when {@code data} is to be passed on as one plain
     * record: no magic, a wrong MD5 (as the KCL does), or a body that does not decode completely. Unlike the KCL,
     * which emits the records decoded before a bad key index and drops the rest, an aggregate is all or nothing, and
     * one without user records is passed on rather than made to vanish. Never throws on any input.
     */
    public static List<UserRecord> deaggregate(byte[] data) {
        if (!hasMagic(data)) {
            return null;
        }
        int bodyEnd = data.length - DIGEST_BYTES;
        byte[] digest = md5(data, MAGIC.length, bodyEnd - MAGIC.length);
        if (!Arrays.equals(digest, 0, DIGEST_BYTES, data, bodyEnd, data.length)) {
            return null;
        }
        try {
            return decodeBody(data, MAGIC.length, bodyEnd);
        } catch (MalformedException e) {
            return null;
        }
    }

    /** True when {@code data} starts with the KPL magic and is long enough to hold a digest. */
    static boolean hasMagic(byte[] data) {
        return data != null
                && data.length >= MAGIC.length + DIGEST_BYTES
                && Arrays.equals(data, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    private static List<UserRecord> decodeBody(byte[] buf, int from, int to) throws MalformedException {
        List<String> partitionKeys = new ArrayList<>();
        List<String> hashKeys = new ArrayList<>();
        List<long[]> indexes = new ArrayList<>(); // {partition key index, explicit hash key index or -1}
        List<byte[]> payloads = new ArrayList<>();
        Reader in = new Reader(buf, from, to);
        while (!in.done()) {
            long tag = in.tag();
            int field = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            if (field == 1 && wireType == 2) {
                partitionKeys.add(in.string());
            } else if (field == 2 && wireType == 2) {
                hashKeys.add(in.string());
            } else if (field == 3 && wireType == 2) {
                int len = in.length();
                decodeRecord(new Reader(buf, in.pos, in.pos + len), indexes, payloads);
                in.pos += len;
            } else {
                in.skip(field, wireType, 0);
            }
        }
        if (payloads.isEmpty()) {
            throw new MalformedException();
        }
        List<UserRecord> out = new ArrayList<>(payloads.size());
        for (int i = 0; i < payloads.size(); i++) {
            long pk = indexes.get(i)[0];
            long ehk = indexes.get(i)[1];
            if (pk >= partitionKeys.size() || ehk >= hashKeys.size()) {
                throw new MalformedException();
            }
            out.add(new UserRecord(
                    partitionKeys.get((int) pk), ehk < 0 ? null : hashKeys.get((int) ehk), payloads.get(i)));
        }
        return out;
    }

    private static void decodeRecord(Reader in, List<long[]> indexes, List<byte[]> payloads) throws MalformedException {
        long pk = -1;
        long ehk = -1;
        byte[] data = null;
        while (!in.done()) {
            long tag = in.tag();
            int field = (int) (tag >>> 3);
            int wireType = (int) (tag & 7);
            if (field == 1 && wireType == 0) {
                pk = in.index();
            } else if (field == 2 && wireType == 0) {
                ehk = in.index();
            } else if (field == 3 && wireType == 2) {
                int len = in.length();
                data = Arrays.copyOfRange(in.buf, in.pos, in.pos + len);
                in.pos += len;
            } else {
                in.skip(field, wireType, 0);
            }
        }
        // Both are required fields: protobuf refuses the message without them, and so does the KCL.
        if (pk < 0 || data == null) {
            throw new MalformedException();
        }
        indexes.add(new long[] {pk, ehk});
        payloads.add(data);
    }

    static byte[] md5(byte[] data, int offset, int length) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update(data, offset, length);
            return md5.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is a required JDK algorithm", e);
        }
    }

    /** A body that is not a complete AggregatedRecord; never escapes this class. */
    private static final class MalformedException extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedException() {
            super(null, null, false, false);
        }
    }

    private static final class Reader {
        final byte[] buf;
        final int end;
        int pos;

        Reader(byte[] buf, int from, int to) {
            this.buf = buf;
            this.pos = from;
            this.end = to;
        }

        boolean done() {
            return pos >= end;
        }

        long varint() throws MalformedException {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new MalformedException();
                }
                byte b = buf[pos++];
                result |= (long) (b & 0x7F) << shift;
                if (b >= 0) {
                    return result;
                }
            }
            throw new MalformedException(); // more than 10 bytes
        }

        long tag() throws MalformedException {
            long tag = varint();
            if ((tag >>> 3) == 0 || (tag >>> 3) > Integer.MAX_VALUE) {
                throw new MalformedException();
            }
            return tag;
        }

        /** A table index: a uint64 that must fit the tables, which hold at most a few hundred thousand keys. */
        long index() throws MalformedException {
            long v = varint();
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw new MalformedException();
            }
            return v;
        }

        int length() throws MalformedException {
            long len = varint();
            if (len < 0 || len > end - pos) {
                throw new MalformedException();
            }
            return (int) len;
        }

        String string() throws MalformedException {
            int len = length();
            String s = new String(buf, pos, len, StandardCharsets.UTF_8);
            pos += len;
            return s;
        }

        void skip(int field, int wireType, int depth) throws MalformedException {
            switch (wireType) {
                case 0:
                    varint();
                    break;
                case 1:
                    advance(8);
                    break;
                case 2:
                    advance(length());
                    break;
                case 3:
                    skipGroup(field, depth + 1);
                    break;
                case 5:
                    advance(4);
                    break;
                default: // 4 (an end-group without its start), 6 and 7
                    throw new MalformedException();
            }
        }

        private void skipGroup(int field, int depth) throws MalformedException {
            // Protobuf's own recursion limit; deeper nesting is an attack, not data, and must not overflow the stack.
            if (depth > MAX_GROUP_DEPTH) {
                throw new MalformedException();
            }
            while (true) {
                long tag = tag();
                int f = (int) (tag >>> 3);
                int wireType = (int) (tag & 7);
                if (wireType == 4) {
                    if (f != field) {
                        throw new MalformedException();
                    }
                    return;
                }
                skip(f, wireType, depth);
            }
        }

        private void advance(int n) throws MalformedException {
            if (n > end - pos) {
                throw new MalformedException();
            }
            pos += n;
        }
    }
}
