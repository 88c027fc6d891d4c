package io.github.cdkstreamingpatterns.flink.enrichment;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parses reference data in JSON Lines: one {@code {"deviceId":"...", "<field>":"<string>", ...}} object per line.
 *
 * <ul>
 *   <li>Blank lines are ignored.
 *   <li>A line that is not a JSON object or has no valid deviceId is skipped and counted in
 *       {@link ReferenceData#invalidLines()}, so one bad line does not discard a whole refresh.
 *   <li>Only string fields become metadata (the enriched record contract has string metadata); other fields are
 *       ignored.
 *   <li>When a deviceId appears on several lines, the last line wins.
 *   <li>An object with invalid lines only is rejected as a whole ({@link IOException}): that is a wrong file, and the
 *       caller keeps its last good copy instead of forgetting every device.
 * </ul>
 */
public final class ReferenceDataParser {
    private ReferenceDataParser() {}

    public static ReferenceData parse(InputStream in) throws IOException {
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        Map<String, Map<String, String>> devices = new HashMap<>();
        int invalid = 0;
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            Map.Entry<String, Map<String, String>> entry = parseLine(line);
            if (entry == null) {
                invalid++;
            } else {
                devices.put(entry.getKey(), entry.getValue());
            }
        }
        if (devices.isEmpty() && invalid > 0) {
            throw new IOException("reference data has " + invalid + " line(s) and none is a valid device entry");
        }
        return new ReferenceData(devices, invalid);
    }

    private static Map.Entry<String, Map<String, String>> parseLine(String line) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(line);
        } catch (JacksonException e) {
            return null;
        }
        if (node == null || !node.isObject()) {
            return null;
        }
        JsonNode deviceId = node.get("deviceId");
        if (deviceId == null
                || !deviceId.isTextual()
                || !TelemetryParser.DEVICE_ID.matcher(deviceId.textValue()).matches()) {
            return null;
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!"deviceId".equals(f.getKey()) && f.getValue().isTextual()) {
                metadata.put(f.getKey(), f.getValue().textValue());
            }
        }
        return Map.entry(deviceId.textValue(), Collections.unmodifiableMap(metadata));
    }
}
