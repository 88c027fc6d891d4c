package io.github.cdkstreamingpatterns.flink.common;

import com.amazonaws.services.kinesisanalytics.runtime.KinesisAnalyticsRuntime;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Runtime property groups: from Managed Service for Apache Flink when deployed; when running locally, from the file
 * named by the system property {@value #FILE_PROPERTY} if it is set (the local runner sets it), else from the
 * classpath file {@value #DEV_FILE}.
 */
public final class ApplicationProperties {
    /** Classpath resource read for local runs, in the same format Managed Flink writes. */
    public static final String DEV_FILE = "flink-application-properties-dev.json";

    /**
     * System property naming a file (same format as {@value #DEV_FILE}) that a local run reads instead of the classpath
     * dev file. Ignored when deployed.
     */
    public static final String FILE_PROPERTY = "flink.application.properties";

    private ApplicationProperties() {}

    /**
     * @param local true when running in a local environment (IDE, mini cluster); only then is the dev file used, so a
     *     deployed application without property groups fails fast instead of silently pointing at localhost
     * @throws IOException when deployed and Managed Flink has no property groups, or the local file is missing or invalid
     */
    public static Map<String, Properties> load(boolean local) throws IOException {
        if (local) {
            String file = System.getProperty(FILE_PROPERTY);
            if (file != null && !file.isBlank()) {
                Path path = Path.of(file.trim());
                if (!Files.isRegularFile(path)) {
                    throw new IOException(FILE_PROPERTY + " names " + path + ", which is not a file");
                }
                try (InputStream in = Files.newInputStream(path)) {
                    return parse(in);
                } catch (IOException e) {
                    throw new IOException(path + " (" + FILE_PROPERTY + "): " + e.getMessage(), e);
                }
            }
            try (InputStream in = ApplicationProperties.class.getClassLoader().getResourceAsStream(DEV_FILE)) {
                if (in == null) {
                    throw new IOException("local run but " + DEV_FILE + " is not on the classpath");
                }
                return parse(in);
            }
        }
        Map<String, Properties> groups = KinesisAnalyticsRuntime.getApplicationProperties();
        // The runtime returns no groups when its file is missing or empty: an error when deployed, never the dev file.
        if (groups == null || groups.isEmpty()) {
            throw new IOException("no application property groups from Managed Service for Apache Flink (" + DEV_FILE
                    + " is read only for local runs)");
        }
        return groups;
    }

    /** Parses {@code [{"PropertyGroupId":"...","PropertyMap":{"key":"value",...}}, ...]}. */
    public static Map<String, Properties> parse(InputStream in) throws IOException {
        JsonNode root = Json.MAPPER.readTree(in);
        if (root == null || !root.isArray()) {
            throw new IOException("application properties must be a JSON array of property groups");
        }
        Map<String, Properties> groups = new LinkedHashMap<>();
        for (JsonNode group : root) {
            JsonNode id = group.get("PropertyGroupId");
            JsonNode map = group.get("PropertyMap");
            if (id == null || !id.isTextual() || map == null || !map.isObject()) {
                throw new IOException("each property group needs a PropertyGroupId string and a PropertyMap object");
            }
            Properties props = new Properties();
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                // Managed Flink passes every value as a string; accept numbers and booleans in the dev file too.
                if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                    throw new IOException(
                            "property " + id.textValue() + "." + e.getKey() + " must be a string, number or boolean");
                }
                props.setProperty(e.getKey(), e.getValue().asText());
            }
            groups.put(id.textValue(), props);
        }
        return groups;
    }

    /** The named group; fails with the group name when it is missing. */
    public static Properties require(Map<String, Properties> groups, String groupId) {
        Properties p = groups.get(groupId);
        if (p == null) {
            throw new IllegalArgumentException("missing property group " + groupId + " (have " + groups.keySet() + ")");
        }
        return p;
    }

    /** The named group, or an empty one (every key in it has a default). */
    public static Properties optional(Map<String, Properties> groups, String groupId) {
        Properties p = groups.get(groupId);
        return p == null ? new Properties() : p;
    }
}
