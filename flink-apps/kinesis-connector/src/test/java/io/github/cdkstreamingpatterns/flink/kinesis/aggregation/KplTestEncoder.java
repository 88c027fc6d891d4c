package io.github.cdkstreamingpatterns.flink.kinesis.aggregation;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-side KPL aggregator with the byte layout of {@code lambda/shared/kpl.ts} (key tables in order of first use,
 * each entry written where the key is first met, then the records). {@code KplFixtureTest} checks that it writes
 * exactly the bytes of the TypeScript encoder, so tests built on it exercise what the producer really sends.
 */
public final class KplTestEncoder {
    private KplTestEncoder() {}

    /** One user record to aggregate; {@code explicitHashKey} may be null. */
    public record Entry(String partitionKey, String explicitHashKey, byte[] data) {
        public static Entry of(String partitionKey, String data) {
            return new Entry(partitionKey, null, data.getBytes(StandardCharsets.UTF_8));
        }
    }

    public static byte[] aggregate(List<Entry> records) {
        Map<String, Integer> pkIndex = new LinkedHashMap<>();
        Map<String, Integer> ehkIndex = new LinkedHashMap<>();
        ByteArrayOutputStream tables = new ByteArrayOutputStream();
        ByteArrayOutputStream recordParts = new ByteArrayOutputStream();
        for (Entry r : records) {
            int pk = indexOf(pkIndex, r.partitionKey(), 1, tables);
            Integer ehk = r.explicitHashKey() == null ? null : indexOf(ehkIndex, r.explicitHashKey(), 2, tables);
            ByteArrayOutputStream inner = new ByteArrayOutputStream();
            varintField(inner, 1, pk);
            if (ehk != null) {
                varintField(inner, 2, ehk);
            }
            lengthDelimited(inner, 3, r.data());
            lengthDelimited(recordParts, 3, inner.toByteArray());
        }
        byte[] body = concat(tables.toByteArray(), recordParts.toByteArray());
        return withDigest(body);
    }

    /** Magic, {@code body} as given, and its MD5: for hand-made (also malformed) bodies. */
    public static byte[] withDigest(byte[] body) {
        return concat(KplDeaggregator.MAGIC, body, KplDeaggregator.md5(body, 0, body.length));
    }

    private static int indexOf(Map<String, Integer> map, String key, int field, ByteArrayOutputStream tables) {
        Integer idx = map.get(key);
        if (idx == null) {
            idx = map.size();
            map.put(key, idx);
            lengthDelimited(tables, field, key.getBytes(StandardCharsets.UTF_8));
        }
        return idx;
    }

    static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    static void varintField(ByteArrayOutputStream out, int field, long value) {
        varint(out, (long) field << 3);
        varint(out, value);
    }

    static void lengthDelimited(ByteArrayOutputStream out, int field, byte[] payload) {
        varint(out, ((long) field << 3) | 2);
        varint(out, payload.length);
        out.writeBytes(payload);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
