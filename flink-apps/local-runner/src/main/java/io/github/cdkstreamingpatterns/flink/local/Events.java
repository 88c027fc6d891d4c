package io.github.cdkstreamingpatterns.flink.local;

import java.io.PrintStream;
import java.util.Map;

/**
 * The runner's machine-readable output: one line per event on stdout, {@code <TYPE> <JSON object>}, e.g. {@code
 * CHECKPOINT {"id":3,"durationMs":120,"path":"file:/tmp/c/0f.../chk-3"}}. Flink's own logging goes to stderr, so
 * stdout carries these lines and whatever the application itself prints.
 */
final class Events {
    private static volatile PrintStream out = System.out;

    private Events() {}

    /** Redirects the events (tests). */
    static void redirect(PrintStream stream) {
        out = stream;
    }

    /** Prints {@code type} and the fields as one JSON object, in the map's order. */
    static void emit(String type, Map<String, ?> fields) {
        StringBuilder line = new StringBuilder(type).append(' ').append('{');
        boolean first = true;
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            if (!first) {
                line.append(',');
            }
            first = false;
            line.append(quote(e.getKey())).append(':').append(value(e.getValue()));
        }
        line.append('}');
        PrintStream stream = out;
        synchronized (stream) {
            stream.println(line);
            stream.flush();
        }
    }

    private static String value(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        return quote(v.toString());
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    b.append("\\\"");
                    break;
                case '\\':
                    b.append("\\\\");
                    break;
                case '\n':
                    b.append("\\n");
                    break;
                case '\r':
                    b.append("\\r");
                    break;
                case '\t':
                    b.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }
}
