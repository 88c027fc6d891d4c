package io.github.cdkstreamingpatterns.flink.statefun;

import java.net.URI;
import java.util.List;
import java.util.Map;

/** Adds authentication headers to a function request. */
public interface RequestSigner {
    /**
     * Returns the headers to send (including the given ones) for a POST of {@code body} to {@code uri}.
     * Called on an HTTP worker thread, never on the task thread, because resolving credentials may block.
     */
    Map<String, List<String>> sign(URI uri, Map<String, List<String>> headers, byte[] body);
}
