package io.github.cdkstreamingpatterns.flink.enrichment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import org.apache.flink.metrics.SimpleCounter;
import org.junit.jupiter.api.Test;

class ReferenceDataTest {
    static ReferenceData parse(String text) throws IOException {
        return ReferenceDataParser.parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void parsesJsonLinesWithStringFieldsAsMetadata() throws Exception {
        ReferenceData data = parse(
                "{\"deviceId\":\"device-00042\",\"site\":\"plant-1\",\"deviceType\":\"thermostat\",\"region\":\"eu-west-1\"}\n"
                        + "\n"
                        + "  \r\n"
                        + "{\"deviceId\":\"device-00043\",\"site\":\"plant-2\",\"floor\":3,\"tags\":[\"a\"],\"active\":true}\r\n");
        assertThat(data.size()).isEqualTo(2);
        assertThat(data.invalidLines()).isZero();
        assertThat(data.lookup("device-00042"))
                .containsExactly(
                        Map.entry("site", "plant-1"),
                        Map.entry("deviceType", "thermostat"),
                        Map.entry("region", "eu-west-1"));
        // Only string fields are metadata.
        assertThat(data.lookup("device-00043")).containsExactly(Map.entry("site", "plant-2"));
        assertThat(data.lookup("device-99999")).isNull();
    }

    @Test
    void skipsAndCountsInvalidLines() throws Exception {
        ReferenceData data = parse("{\"deviceId\":\"good\",\"site\":\"s\"}\n"
                + "not json\n"
                + "[1,2]\n"
                + "{\"site\":\"no device id\"}\n"
                + "{\"deviceId\":42}\n"
                + "{\"deviceId\":\"bad id\"}\n"
                + "{\"deviceId\":\"good2\"}");
        assertThat(data.size()).isEqualTo(2);
        assertThat(data.invalidLines()).isEqualTo(5);
        assertThat(data.lookup("good2")).isEmpty();
    }

    @Test
    void lastLineWinsForRepeatedDevice() throws Exception {
        ReferenceData data = parse("{\"deviceId\":\"d\",\"site\":\"old\"}\n{\"deviceId\":\"d\",\"site\":\"new\"}\n");
        assertThat(data.size()).isEqualTo(1);
        assertThat(data.lookup("d")).containsExactly(Map.entry("site", "new"));
    }

    @Test
    void emptyObjectIsAnEmptyDataSet() throws Exception {
        assertThat(parse("").size()).isZero();
        assertThat(parse("\n\n").size()).isZero();
    }

    @Test
    void objectWithOnlyInvalidLinesIsRejected() {
        assertThatThrownBy(() -> parse("deviceId,site\ndevice-1,plant-1\n"))
                .isInstanceOf(IOException.class)
                .hasMessage("reference data has 2 line(s) and none is a valid device entry");
    }

    /** Loader that replays scripted outcomes. */
    static final class ScriptedLoader implements ReferenceDataLoader {
        /** Stands for "the loader returned null" (ArrayDeque cannot hold null). */
        static final Object NO_DATA = new Object();

        private final Deque<Object> script = new ArrayDeque<>();
        int calls;

        ScriptedLoader then(Object outcome) {
            script.add(outcome);
            return this;
        }

        @Override
        public ReferenceData load() throws IOException {
            calls++;
            Object next = script.poll();
            if (next instanceof ReferenceData) {
                return (ReferenceData) next;
            }
            if (next instanceof IOException) {
                throw (IOException) next;
            }
            if (next instanceof RuntimeException) {
                throw (RuntimeException) next;
            }
            if (next == NO_DATA) {
                return null;
            }
            throw new AssertionError("script exhausted");
        }
    }

    @Test
    void cacheKeepsLastGoodCopyAndCountsFailures() throws Exception {
        ReferenceData v1 = parse("{\"deviceId\":\"d1\",\"site\":\"a\"}");
        ReferenceData v2 = parse("{\"deviceId\":\"d2\",\"site\":\"b\"}");
        ScriptedLoader loader = new ScriptedLoader()
                .then(v1)
                .then(new IOException("NoSuchKey"))
                .then(new IllegalStateException("bug in a loader"))
                .then(ScriptedLoader.NO_DATA)
                .then(v2);
        SimpleCounter failures = new SimpleCounter();
        ReferenceDataCache cache = new ReferenceDataCache(loader, failures);

        assertThat(cache.lookup("d1")).isNull();
        assertThat(cache.lastSuccessAt()).isEqualTo(-1);

        assertThat(cache.refresh()).isTrue();
        assertThat(cache.lookup("d1")).containsEntry("site", "a");
        long firstSuccess = cache.lastSuccessAt();
        assertThat(firstSuccess).isPositive();

        assertThat(cache.refresh()).isFalse();
        assertThat(cache.refresh()).isFalse();
        assertThat(cache.refresh()).isFalse();
        assertThat(failures.getCount()).isEqualTo(3);
        assertThat(cache.current()).isSameAs(v1);
        assertThat(cache.lastSuccessAt()).isEqualTo(firstSuccess);

        assertThat(cache.refresh()).isTrue();
        assertThat(cache.lookup("d1")).isNull();
        assertThat(cache.lookup("d2")).containsEntry("site", "b");
        assertThat(failures.getCount()).isEqualTo(3);
        assertThat(loader.calls).isEqualTo(5);
    }

    @Test
    void cacheStartsEmptyWhenFirstLoadFails() {
        SimpleCounter failures = new SimpleCounter();
        ReferenceDataCache cache =
                new ReferenceDataCache(new ScriptedLoader().then(new IOException("AccessDenied")), failures);
        assertThat(cache.refresh()).isFalse();
        assertThat(cache.current().size()).isZero();
        assertThat(failures.getCount()).isEqualTo(1);
    }
}
