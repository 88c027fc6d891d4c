package io.github.cdkstreamingpatterns.flink.enrichment;

import java.util.Collections;
import java.util.Map;

/** An immutable snapshot of device metadata, keyed by deviceId. */
public final class ReferenceData {
    private static final ReferenceData EMPTY = new ReferenceData(Map.of(), 0);

    private final Map<String, Map<String, String>> devices;
    private final int invalidLines;

    public ReferenceData(Map<String, Map<String, String>> devices, int invalidLines) {
        this.devices = Collections.unmodifiableMap(devices);
        this.invalidLines = invalidLines;
    }

    public static ReferenceData empty() {
        return EMPTY;
    }

    /** Metadata for the device, or null when the device is unknown. */
    public Map<String, String> lookup(String deviceId) {
        return devices.get(deviceId);
    }

    public int size() {
        return devices.size();
    }

    /** Lines of the source object that were skipped because they were not valid reference entries. */
    public int invalidLines() {
        return invalidLines;
    }

    public Map<String, Map<String, String>> devices() {
        return devices;
    }
}
