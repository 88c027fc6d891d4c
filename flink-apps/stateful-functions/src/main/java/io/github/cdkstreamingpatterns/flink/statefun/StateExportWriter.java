package io.github.cdkstreamingpatterns.flink.statefun;

import java.io.IOException;

/** Writes one export object (JSON Lines). */
interface StateExportWriter extends AutoCloseable {
    void write(String objectKey, byte[] jsonLines) throws IOException;

    @Override
    default void close() {}
}
