package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StateExporterTest {
    /** Records what it is asked to write; fails when told to. */
    private static final class RecordingWriter implements StateExportWriter {
        final List<String> keys = new ArrayList<>();
        final List<String> bodies = new ArrayList<>();
        boolean fail;
        boolean closed;

        @Override
        public synchronized void write(String objectKey, byte[] jsonLines) throws IOException {
            if (fail) {
                throw new IOException("bucket gone");
            }
            keys.add(objectKey);
            bodies.add(new String(jsonLines, StandardCharsets.UTF_8));
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static final StateExportConfig CONFIG = StateExportConfig.toDirectory("/unused", "exports/", 60_000);

    @Test
    void aLineHoldsTheAddressTheVersionAndTheStateAsStored() {
        assertThat(StateExporter.line(new Address("order", "o-1"), 3, "{\"total\":12.5,\"items\":[\"a\"]}"))
                .isEqualTo(
                        "{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"stateVersion\":3,\"state\":{\"total\":12.5,\"items\":[\"a\"]}}");
        assertThat(StateExporter.line(new Address("order", "o\"2"), 4, null))
                .isEqualTo("{\"address\":{\"type\":\"order\",\"id\":\"o\\\"2\"},\"stateVersion\":4,\"state\":null}");
    }

    @Test
    void uploadsOneJsonLinesObjectPerSubtaskAndExport() throws Exception {
        RecordingWriter writer = new RecordingWriter();
        StateExporter exporter = new StateExporter(CONFIG, writer);
        StateExporter.Snapshot snapshot = new StateExporter.Snapshot();
        snapshot.add("order/o-1", 2, "{\"n\":1}");
        snapshot.add("order/o/2", 1, null);

        exporter.upload(snapshot, 1_700_000_000_000L, 3).get(10, TimeUnit.SECONDS);

        assertThat(writer.keys).containsExactly("exports/1700000000000/subtask-3.jsonl");
        assertThat(writer.bodies.get(0))
                .isEqualTo("{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"stateVersion\":2,\"state\":{\"n\":1}}\n"
                        + "{\"address\":{\"type\":\"order\",\"id\":\"o/2\"},\"stateVersion\":1,\"state\":null}\n");
        for (String line : writer.bodies.get(0).split("\n")) {
            assertThat(Json.read(line).has("stateVersion")).isTrue();
        }
        exporter.close();
        assertThat(writer.closed).isTrue();
    }

    @Test
    void anEmptySnapshotIsNotWrittenAndAFailedUploadDoesNotFail() throws Exception {
        RecordingWriter writer = new RecordingWriter();
        StateExporter exporter = new StateExporter(CONFIG, writer);
        exporter.upload(new StateExporter.Snapshot(), 1L, 0).get(10, TimeUnit.SECONDS);
        assertThat(writer.keys).isEmpty();

        writer.fail = true;
        StateExporter.Snapshot snapshot = new StateExporter.Snapshot();
        snapshot.add("order/o-1", 1, "{}");
        exporter.upload(snapshot, 2L, 0).get(10, TimeUnit.SECONDS);
        assertThat(writer.keys).isEmpty();
        assertThat(exporter.intervalMs()).isEqualTo(60_000);
        exporter.close();
    }
}
