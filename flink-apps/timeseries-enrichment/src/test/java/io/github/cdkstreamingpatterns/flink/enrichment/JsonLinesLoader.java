package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Serializable in-process loader for pipeline tests: parses a fixed JSON Lines text with the production parser. */
final class JsonLinesLoader implements ReferenceDataLoader {
    private static final long serialVersionUID = 1L;
    private final String jsonLines;

    JsonLinesLoader(String jsonLines) {
        this.jsonLines = jsonLines;
    }

    @Override
    public ReferenceData load() throws IOException {
        return ReferenceDataParser.parse(new ByteArrayInputStream(jsonLines.getBytes(StandardCharsets.UTF_8)));
    }
}
