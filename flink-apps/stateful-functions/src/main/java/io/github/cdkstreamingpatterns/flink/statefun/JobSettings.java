package io.github.cdkstreamingpatterns.flink.statefun;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Everything main() needs, read and validated from the property groups: KinesisSource, DeadLetterSink,
 * StatefulFunctions (module.json, max.concurrent.calls, max.pending.feedback, request.timeout.ms, signing.region,
 * ingress.dedupe.ttl.minutes), Egress.&lt;name&gt; for
 * every egress in module.json, and the optional StateExport group.
 */
public final class JobSettings {
    public static final String SOURCE_GROUP = "KinesisSource";
    public static final String DEAD_LETTER_GROUP = "DeadLetterSink";
    public static final String FUNCTIONS_GROUP = "StatefulFunctions";
    public static final String EGRESS_GROUP_PREFIX = "Egress.";
    public static final String EXPORT_GROUP = "StateExport";
    /** StatefulFunctions key: minutes an accepted ingress eventId is remembered per address (default 60). */
    public static final String INGRESS_DEDUPE_TTL_MINUTES = "ingress.dedupe.ttl.minutes";

    private final Properties source;
    private final Properties deadLetters;
    private final Map<String, Properties> egress;
    private final DispatcherConfig dispatcher;

    private JobSettings(
            Properties source, Properties deadLetters, Map<String, Properties> egress, DispatcherConfig dispatcher) {
        this.source = source;
        this.deadLetters = deadLetters;
        this.egress = egress;
        this.dispatcher = dispatcher;
    }

    public static JobSettings from(Map<String, Properties> groups) {
        Properties functions = required(groups, FUNCTIONS_GROUP);
        String moduleJson = functions.getProperty("module.json");
        if (moduleJson == null || moduleJson.isBlank()) {
            throw new IllegalArgumentException("property group " + FUNCTIONS_GROUP + " needs 'module.json'");
        }
        long timeoutMs = positiveLong(functions, "request.timeout.ms", DispatcherConfig.DEFAULT_REQUEST_TIMEOUT_MS);
        ModuleDefinition module = ModuleDefinition.parse(moduleJson, timeoutMs);
        DispatcherConfig dispatcher = DispatcherConfig.builder(module)
                .maxConcurrentCalls((int)
                        positiveLong(functions, "max.concurrent.calls", DispatcherConfig.DEFAULT_MAX_CONCURRENT_CALLS))
                .maxPendingFeedback((int)
                        positiveLong(functions, "max.pending.feedback", DispatcherConfig.DEFAULT_MAX_PENDING_FEEDBACK))
                .signingRegion(functions.getProperty("signing.region"))
                .ingressDedupeTtl(Duration.ofMinutes(positiveLong(
                        functions,
                        INGRESS_DEDUPE_TTL_MINUTES,
                        DispatcherConfig.DEFAULT_INGRESS_DEDUPE_TTL.toMinutes())))
                .stateExport(StateExportConfig.fromProperties(groups.get(EXPORT_GROUP)))
                .build();

        Map<String, Properties> egress = new LinkedHashMap<>();
        module.egress().forEach((name, moduleStreamArn) -> {
            Properties props = groups.get(EGRESS_GROUP_PREFIX + name);
            if (props == null) {
                throw new IllegalArgumentException(
                        "egress '" + name + "' in module.json needs property group " + EGRESS_GROUP_PREFIX + name);
            }
            Properties copy = new Properties();
            copy.putAll(props);
            // The property group is authoritative; module.json's streamArn fills in when the group omits it.
            if (copy.getProperty("stream.arn", "").isBlank() && moduleStreamArn != null) {
                copy.setProperty("stream.arn", moduleStreamArn);
            }
            egress.put(name, copy);
        });
        return new JobSettings(required(groups, SOURCE_GROUP), required(groups, DEAD_LETTER_GROUP), egress, dispatcher);
    }

    private static Properties required(Map<String, Properties> groups, String name) {
        Properties props = groups.get(name);
        if (props == null) {
            throw new IllegalArgumentException("missing property group " + name);
        }
        return props;
    }

    private static long positiveLong(Properties props, String key, long defaultValue) {
        String raw = props.getProperty(key);
        if (raw == null || raw.isBlank()) {
            return defaultValue;
        }
        long value;
        try {
            value = Long.parseLong(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("property '" + key + "' must be a positive integer, got '" + raw + "'");
        }
        if (value <= 0 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("property '" + key + "' must be a positive integer, got '" + raw + "'");
        }
        return value;
    }

    public Properties source() {
        return source;
    }

    public Properties deadLetters() {
        return deadLetters;
    }

    /** Egress name to its sink properties (stream.arn, aws.region, aws.endpoint). */
    public Map<String, Properties> egress() {
        return egress;
    }

    public DispatcherConfig dispatcher() {
        return dispatcher;
    }
}
