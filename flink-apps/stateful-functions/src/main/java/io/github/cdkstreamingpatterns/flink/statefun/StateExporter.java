package io.github.cdkstreamingpatterns.flink.statefun;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The periodic state export: per export and subtask one JSON Lines object
 * ({@link StateExportConfig#objectKey}), one line {@code {"address","stateVersion","state"}} per address that has a
 * stateVersion. The dispatcher collects a {@link Snapshot} on the task thread (a consistent view between two
 * records); this uploads it in the background. An export is a point-in-time view, not tied to checkpoints: it may
 * contain updates a later restore rolls back and re-applies. A failed upload is logged, never fails the job: the next
 * interval writes a complete, fresh export.
 */
final class StateExporter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StateExporter.class);

    private final StateExportConfig config;
    private final StateExportWriter writer;
    private final ExecutorService executor;

    StateExporter(StateExportConfig config) {
        this(config, config.createWriter());
    }

    StateExporter(StateExportConfig config, StateExportWriter writer) {
        this.config = config;
        this.writer = writer;
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "statefun-state-export");
            t.setDaemon(true);
            return t;
        });
    }

    long intervalMs() {
        return config.intervalMs();
    }

    /** The lines of one export. */
    static final class Snapshot {
        private final List<String> lines = new ArrayList<>();

        /** @param stateJson the state as stored (JSON text), null when the address has none */
        void add(String addressKey, long stateVersion, String stateJson) {
            lines.add(line(Address.fromKey(addressKey), stateVersion, stateJson));
        }

        int size() {
            return lines.size();
        }

        /** JSON Lines, UTF-8, every line ending with a newline. */
        byte[] body() {
            StringBuilder out = new StringBuilder();
            for (String line : lines) {
                out.append(line).append('\n');
            }
            return out.toString().getBytes(StandardCharsets.UTF_8);
        }
    }

    /** {@code {"address":{"type","id"},"stateVersion":n,"state":<state or null>}}; the state is embedded as stored. */
    static String line(Address address, long stateVersion, String stateJson) {
        return InvocationRequestBuilder.write(g -> {
            g.writeStartObject();
            g.writeFieldName("address");
            InvocationRequestBuilder.writeAddress(g, address);
            g.writeNumberField("stateVersion", stateVersion);
            g.writeFieldName("state");
            if (stateJson == null) {
                g.writeNull();
            } else {
                g.writeRawValue(stateJson);
            }
            g.writeEndObject();
        });
    }

    /** Uploads the snapshot in the background; an empty one is not written. */
    Future<?> upload(Snapshot snapshot, long exportedAt, int subtask) {
        if (snapshot.size() == 0) {
            return CompletableFuture.completedFuture(null);
        }
        String objectKey = config.objectKey(exportedAt, subtask);
        byte[] body = snapshot.body();
        int count = snapshot.size();
        return executor.submit(() -> {
            try {
                writer.write(objectKey, body);
                LOG.info("Exported {} function states to {}", count, objectKey);
            } catch (Exception e) {
                // The next interval writes a complete, fresh export; the job itself must not fail for this.
                LOG.error("State export to {} failed", objectKey, e);
            }
        });
    }

    /** Waits (up to 30 s) for a running upload, then closes the writer. */
    @Override
    public void close() throws InterruptedException {
        executor.shutdown();
        executor.awaitTermination(30, TimeUnit.SECONDS);
        writer.close();
    }
}
