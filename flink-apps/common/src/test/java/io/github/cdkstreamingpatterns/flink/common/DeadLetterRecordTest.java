package io.github.cdkstreamingpatterns.flink.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord.Encoding;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class DeadLetterRecordTest {
    private static DeadLetterRecord record(String payload, String payloadEncoding) {
        return new DeadLetterRecord("SCHEMA", "bad", "stage-x", payload, payloadEncoding, 42L, "key");
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    @Test
    void fieldsAreWrittenInContractOrderAndPayloadEncodingOnlyWhenSet() {
        assertThat(new String(record("p", "utf-8").toJson(Encoding.ESCAPED_SURROGATES), StandardCharsets.UTF_8))
                .isEqualTo("{\"reason\":\"SCHEMA\",\"detail\":\"bad\",\"stage\":\"stage-x\",\"payload\":\"p\","
                        + "\"payloadEncoding\":\"utf-8\",\"at\":42}");
        assertThat(new String(record("p", null).toJson(Encoding.STRING_UTF8), StandardCharsets.UTF_8))
                .isEqualTo(
                        "{\"reason\":\"SCHEMA\",\"detail\":\"bad\",\"stage\":\"stage-x\",\"payload\":\"p\",\"at\":42}");
        DeadLetterRecord cut = record("p", null);
        cut.truncated = true;
        cut.detail = null;
        assertThat(new String(cut.toJson(Encoding.STRING_UTF8), StandardCharsets.UTF_8))
                .isEqualTo("{\"reason\":\"SCHEMA\",\"detail\":null,\"stage\":\"stage-x\",\"payload\":\"p\",\"at\":42,"
                        + "\"truncated\":true}");
    }

    @Test
    void theEncodingsDifferOnlyOutsideTheBmpAndForLoneSurrogates() {
        // The bytes each application has always written: the contract tests of both compare them.
        String tricky = "é\"\\\n\u0001\u2028";
        assertThat(record(tricky, null).toJson(Encoding.ESCAPED_SURROGATES))
                .isEqualTo(record(tricky, null).toJson(Encoding.STRING_UTF8));
        assertThat(text(record("a😀b\uD800", null).toJson(Encoding.ESCAPED_SURROGATES)))
                .contains("\"payload\":\"a\\uD83D\\uDE00b\\uD800\"");
        assertThat(text(record("a😀b\uD800", null).toJson(Encoding.STRING_UTF8)))
                .contains("\"payload\":\"a\u00f0\u009f\u0098\u0080b?\"");
    }

    @Test
    void aRecordThatFitsIsReturnedAsIs() {
        DeadLetterRecord r = record("x".repeat(1000), null);
        for (Encoding e : Encoding.values()) {
            assertThat(DeadLetterRecord.fit(r, 1100, e)).isSameAs(r);
        }
    }

    @Test
    void aRecordTooLargeEvenWithoutItsPayloadIsAnError() {
        DeadLetterRecord r = record("x".repeat(1000), null);
        assertThatThrownBy(() -> DeadLetterRecord.fit(r, 50, Encoding.STRING_UTF8))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("even without its payload");
    }

    @Test
    void aLongDetailIsCutWhenTheRecordIs() {
        DeadLetterRecord r =
                new DeadLetterRecord("REJECTED", "d".repeat(100_000), "s", "p".repeat(100_000), null, 1L, "k");
        DeadLetterRecord cut = DeadLetterRecord.fit(r, 50_000, Encoding.STRING_UTF8);
        assertThat(cut.detail).hasSize(DeadLetterRecord.MAX_DETAIL_CHARS_WHEN_CUT);
        assertThat(cut.truncated).isTrue();
        assertThat(r.truncated).as("the input record is not modified").isFalse();
        assertThat(r.detail).hasSize(100_000);
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void aCutRecordIsTheLongestFittingPrefixInEitherEncoding(
            @ForAll @StringLength(max = 400) String payload,
            @ForAll @IntRange(min = 150, max = 2_000) int maxRecordBytes)
            throws Exception {
        for (Encoding encoding : Encoding.values()) {
            DeadLetterRecord whole = record(payload, encoding == Encoding.STRING_UTF8 ? null : "utf-8");
            DeadLetterRecord fitted = DeadLetterRecord.fit(whole, maxRecordBytes, encoding);
            byte[] bytes = fitted.toJson(encoding);
            long size = bytes.length + Json.utf8Length(fitted.partitionKey);

            assertThat(fitted.serializedSize(encoding)).isEqualTo(bytes.length);
            assertThat(size).isLessThanOrEqualTo(maxRecordBytes);
            assertThat(payload).startsWith(fitted.payload);
            long wholeSize = whole.toJson(encoding).length + Json.utf8Length(whole.partitionKey);
            assertThat(fitted.truncated).isEqualTo(wholeSize > maxRecordBytes);
            if (fitted.truncated) {
                assertThat(fitted.payload.isEmpty()
                                || !Character.isHighSurrogate(fitted.payload.charAt(fitted.payload.length() - 1)))
                        .isTrue();
                // One more char (two for a pair) would not fit.
                int next = fitted.payload.length() + 1;
                if (next < payload.length() && Character.isHighSurrogate(payload.charAt(next - 1))) {
                    next++;
                }
                if (next <= payload.length()) {
                    DeadLetterRecord longer = record(payload.substring(0, next), whole.payloadEncoding);
                    longer.truncated = true;
                    assertThat(longer.serializedSize(encoding) + Json.utf8Length(longer.partitionKey))
                            .isGreaterThan(maxRecordBytes);
                }
            }
            JsonNode json = Json.MAPPER.readTree(bytes);
            List<String> fields = new ArrayList<>();
            json.fieldNames().forEachRemaining(fields::add);
            assertThat(fields.subList(0, 4)).containsExactly("reason", "detail", "stage", "payload");
        }
    }
}
