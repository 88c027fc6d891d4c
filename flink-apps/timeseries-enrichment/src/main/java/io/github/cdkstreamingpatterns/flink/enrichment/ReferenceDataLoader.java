package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.IOException;
import java.io.Serializable;

/**
 * Loads the current device reference data. Instances are shipped to every parallel enrichment subtask, so they
 * hold configuration only and create their clients lazily. Calls to {@link #load()} from one subtask never overlap.
 */
public interface ReferenceDataLoader extends Serializable, AutoCloseable {
    /**
     * @return the current snapshot
     * @throws IOException when the data cannot be read or is not reference data; the caller keeps its previous copy
     */
    ReferenceData load() throws IOException;

    /** Releases clients; the default has nothing to release. */
    @Override
    default void close() {}
}
