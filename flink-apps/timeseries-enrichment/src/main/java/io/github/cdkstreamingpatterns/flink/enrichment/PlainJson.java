package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.Arrays;
import java.util.Map;

/**
 * Writes an enriched record without Jackson, byte for byte as {@link EnrichedRecordSerializationSchema}'s Jackson
 * generator does, when the record is plain: no null, every string (field names included) printable ASCII without a
 * quote or a backslash, so that nothing needs escaping, and every metric finite. That is almost every record; for
 * any other one {@link #enriched} returns null and the caller uses Jackson. Numbers are written the way Jackson's
 * generator writes them by default: a long in decimal, a double as {@link Double#toString(double)}.
 *
 * <p>Why: the Jackson generator costs a generator, a growing output stream and a copy per record, which made the
 * serializer as expensive as the whole rest of the job's pass-through path.
 */
final class PlainJson {
    private PlainJson() {}

    /** The record's JSON, or null when it is not plain. */
    static byte[] enriched(EnrichedRecord r) {
        if (r.eventId == null
                || r.deviceId == null
                || r.metrics == null
                || r.attributes == null
                || r.metadata == null) {
            return null;
        }
        // Upper bound: 152 bytes of fixed text and two longs of at most 20 characters; per metric its name, quotes,
        // colon, comma and at most 24 characters of double.
        int bound = 192 + r.eventId.length() + r.deviceId.length() + 32 * r.metrics.size();
        for (String k : r.metrics.keySet()) {
            if (k == null) {
                return null;
            }
            bound += k.length();
        }
        int attributes = stringsBound(r.attributes);
        int metadata = stringsBound(r.metadata);
        if (attributes < 0 || metadata < 0) {
            return null;
        }
        Out o = new Out(bound + attributes + metadata);
        o.raw("{\"eventId\":\"");
        if (!o.plain(r.eventId)) {
            return null;
        }
        o.raw("\",\"deviceId\":\"");
        if (!o.plain(r.deviceId)) {
            return null;
        }
        o.raw("\",\"timestamp\":");
        o.raw(Long.toString(r.timestamp));
        o.raw(",\"metrics\":{");
        boolean first = true;
        for (Map.Entry<String, Double> e : r.metrics.entrySet()) {
            Double v = e.getValue();
            if (v == null || !Double.isFinite(v)) {
                return null;
            }
            o.raw(first ? "\"" : ",\"");
            first = false;
            if (!o.plain(e.getKey())) {
                return null;
            }
            o.raw("\":");
            o.raw(Double.toString(v));
        }
        o.raw("},\"attributes\":");
        if (!o.strings(r.attributes)) {
            return null;
        }
        o.raw(",\"metadata\":");
        if (!o.strings(r.metadata)) {
            return null;
        }
        o.raw(r.enriched ? ",\"enriched\":true,\"processedAt\":" : ",\"enriched\":false,\"processedAt\":");
        o.raw(Long.toString(r.processedAt));
        o.raw("}");
        return o.bytes();
    }

    /** Bytes the entries of a string map can take when plain; -1 when a key or value is null. */
    private static int stringsBound(Map<String, String> values) {
        int n = 2;
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                return -1;
            }
            n += e.getKey().length() + e.getValue().length() + 6;
        }
        return n;
    }

    /** A fixed-size output buffer; the bound computed above is never exceeded. */
    private static final class Out {
        private final byte[] buf;
        private int pos;

        Out(int capacity) {
            buf = new byte[capacity];
        }

        /** ASCII text that needs no check. */
        void raw(String s) {
            for (int i = 0, n = s.length(); i < n; i++) {
                buf[pos++] = (byte) s.charAt(i);
            }
        }

        /** The string's characters; false when one is not plain. */
        boolean plain(String s) {
            for (int i = 0, n = s.length(); i < n; i++) {
                char c = s.charAt(i);
                if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
                    return false;
                }
                buf[pos++] = (byte) c;
            }
            return true;
        }

        boolean strings(Map<String, String> values) {
            buf[pos++] = '{';
            boolean first = true;
            for (Map.Entry<String, String> e : values.entrySet()) {
                if (!first) {
                    buf[pos++] = ',';
                }
                first = false;
                buf[pos++] = '"';
                if (!plain(e.getKey())) {
                    return false;
                }
                buf[pos++] = '"';
                buf[pos++] = ':';
                buf[pos++] = '"';
                if (!plain(e.getValue())) {
                    return false;
                }
                buf[pos++] = '"';
            }
            buf[pos++] = '}';
            return true;
        }

        byte[] bytes() {
            return Arrays.copyOf(buf, pos);
        }
    }
}
