package io.github.cdkstreamingpatterns.flink.kinesis.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.ShardProgress;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Aggregates written by the producer's own encoder, {@code lambda/shared/kpl.ts} (regenerate with
 * {@code npx ts-node --transpile-only scripts/generate-kpl-fixtures.ts}): the Java side must decode each to the
 * records the script put in, and pass the damaged ones on whole.
 */
class KplFixtureTest {
    static Stream<Arguments> cases() throws IOException {
        try (InputStream in = KplFixtureTest.class.getResourceAsStream("/kpl/aggregates.json")) {
            assertThat(in).as("fixture kpl/aggregates.json").isNotNull();
            JsonNode all = new ObjectMapper().readTree(in);
            return StreamSupport.stream(all.spliterator(), false)
                    .map(c -> Arguments.of(c.get("name").textValue(), c))
                    .toList()
                    .stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesWhatTheTypeScriptEncoderWrote(String name, JsonNode fixture) {
        byte[] aggregate = Base64.getDecoder().decode(fixture.get("aggregate").textValue());
        JsonNode expected = fixture.get("records");

        List<KinesisRecord> out = new ShardProgress(
                        new KinesisShardSplit("shard", InitialPosition.TRIM_HORIZON, 0L, null))
                .toRecords(List.of(KplDeaggregatorPropertiesTest.record("9", "parent", aggregate)));

        if (expected.isNull()) {
            assertThat(KplDeaggregator.deaggregate(aggregate)).isNull();
            assertThat(out).containsExactly(new KinesisRecord(aggregate, "parent", "9", 1000L, "shard"));
            return;
        }
        List<KplTestEncoder.Entry> entries = new ArrayList<>();
        for (JsonNode r : expected) {
            JsonNode ehk = r.get("explicitHashKey");
            entries.add(new KplTestEncoder.Entry(
                    r.get("partitionKey").textValue(),
                    ehk == null ? null : ehk.textValue(),
                    Base64.getDecoder().decode(r.get("data").textValue())));
        }
        assertThat(out).hasSameSizeAs(entries);
        for (int i = 0; i < entries.size(); i++) {
            KplTestEncoder.Entry e = entries.get(i);
            assertThat(out.get(i))
                    .isEqualTo(
                            new KinesisRecord(e.data(), e.partitionKey(), e.explicitHashKey(), "9", i, 1000L, "shard"));
        }
        // The test encoder that the property and end-to-end tests use writes the very same bytes.
        assertThat(KplTestEncoder.aggregate(entries)).isEqualTo(aggregate);
    }
}
