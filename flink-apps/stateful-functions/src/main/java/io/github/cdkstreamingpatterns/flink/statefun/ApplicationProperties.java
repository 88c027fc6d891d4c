package io.github.cdkstreamingpatterns.flink.statefun;

import com.amazonaws.services.kinesisanalytics.runtime.KinesisAnalyticsRuntime;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Runtime property groups: Managed Flink's application properties when present, otherwise the dev file
 * {@value #DEV_RESOURCE} from the classpath (same JSON format: a list of {"PropertyGroupId","PropertyMap"}).
 */
public final class ApplicationProperties {
    public static final String DEV_RESOURCE = "flink-application-properties-dev.json";

    private ApplicationProperties() {}

    public static Map<String, Properties> load() throws IOException {
        Map<String, Properties> groups;
        try {
            groups = KinesisAnalyticsRuntime.getApplicationProperties();
        } catch (FileNotFoundException notOnManagedFlink) {
            groups = Map.of();
        }
        if (groups != null && !groups.isEmpty()) {
            return groups;
        }
        try (InputStream in = ApplicationProperties.class.getClassLoader().getResourceAsStream(DEV_RESOURCE)) {
            if (in == null) {
                throw new IOException("no runtime properties and no " + DEV_RESOURCE + " on the classpath");
            }
            return parse(in);
        }
    }

    /** Parses the Managed Flink properties JSON format. */
    public static Map<String, Properties> parse(InputStream in) throws IOException {
        JsonNode root = Json.MAPPER.readTree(in);
        if (root == null || !root.isArray()) {
            throw new IOException("application properties must be a JSON array of property groups");
        }
        Map<String, Properties> groups = new LinkedHashMap<>();
        for (JsonNode group : root) {
            String id = Json.nonEmptyText(group, "PropertyGroupId");
            if (id == null || !group.path("PropertyMap").isObject()) {
                throw new IOException("property group needs 'PropertyGroupId' and an object 'PropertyMap': " + group);
            }
            Properties props = new Properties();
            for (Iterator<Map.Entry<String, JsonNode>> it = group.get("PropertyMap").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                props.setProperty(entry.getKey(), entry.getValue().isTextual() ? entry.getValue().asText() : entry.getValue().toString());
            }
            groups.put(id, props);
        }
        return groups;
    }
}
