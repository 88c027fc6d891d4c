package io.github.cdkstreamingpatterns.flink.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void strictUtf8DecodesValidUtf8AndRefusesEverythingElse() {
        assertThat(Json.strictUtf8("é😀".getBytes(StandardCharsets.UTF_8))).isEqualTo("é😀");
        assertThat(Json.strictUtf8(new byte[0])).isEmpty();
        assertThat(Json.strictUtf8(new byte[] {(byte) 0xff})).isNull();
        assertThat(Json.strictUtf8(new byte[] {(byte) 0xc0, (byte) 0x80}))
                .as("overlong NUL")
                .isNull();
        assertThat(Json.strictUtf8(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}))
                .as("encoded surrogate")
                .isNull();
    }

    @Test
    void theReaderRejectsAmbiguousRecordsButReadsNonNumericNumbers() throws Exception {
        assertThat(Json.READER.readTree("{\"v\":NaN}").get("v").isNumber()).isTrue();
        assertThatThrownBy(() -> Json.READER.readTree("{\"a\":1,\"a\":2}")).isInstanceOf(JsonProcessingException.class);
        assertThatThrownBy(() -> Json.READER.readTree("{} {}")).isInstanceOf(JsonProcessingException.class);
        assertThat(Json.MAPPER.readTree("{\"a\":1,\"a\":2}").get("a").intValue())
                .as("the plain mapper is lenient")
                .isEqualTo(2);
    }

    @Test
    void writesAndReadsTrees() {
        ObjectNode node = Json.object();
        node.put("s", "q\"\\\n\u0001😀");
        node.putNull("n");
        assertThat(Json.write(node)).isEqualTo("{\"s\":\"q\\\"\\\\\\n\\u0001😀\",\"n\":null}");
        assertThat(Json.read(Json.write(node))).isEqualTo(node);
        assertThatThrownBy(() -> Json.read("{")).isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void nonEmptyTextIsNullForAnythingButANonEmptyString() {
        ObjectNode node = Json.object().put("s", "x").put("e", "").put("n", 1);
        assertThat(Json.nonEmptyText(node, "s")).isEqualTo("x");
        assertThat(Json.nonEmptyText(node, "e")).isNull();
        assertThat(Json.nonEmptyText(node, "n")).isNull();
        assertThat(Json.nonEmptyText(node, "missing")).isNull();
    }

    @Property(seed = PropertySeed.SEED, tries = 500)
    void utf8LengthIsTheLengthOfGetBytes(@ForAll String s) {
        assertThat(Json.utf8Length(s)).isEqualTo(s.getBytes(StandardCharsets.UTF_8).length);
    }

    @Property(seed = PropertySeed.SEED, tries = 1000)
    void strictUtf8AgreesWithAStrictDecoder(@ForAll byte[] bytes, @ForAll boolean ascii) {
        byte[] input = bytes.clone();
        if (ascii) {
            // The ASCII fast path, which arbitrary bytes rarely reach.
            for (int i = 0; i < input.length; i++) {
                input[i] &= 0x7f;
            }
        }
        String expected;
        try {
            expected = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(input))
                    .toString();
        } catch (CharacterCodingException e) {
            expected = null;
        }
        assertThat(Json.strictUtf8(input)).isEqualTo(expected);
    }

    @Property(seed = PropertySeed.SEED, tries = 500)
    void strictUtf8DecodesEveryString(@ForAll String s) {
        String wellFormed = new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        assertThat(Json.strictUtf8(wellFormed.getBytes(StandardCharsets.UTF_8))).isEqualTo(wellFormed);
    }

    @Test
    void utf8LengthCountsALoneSurrogateAsGetBytesDoes() {
        for (String s : new String[] {"\uD800", "a\uDC00", "\uDE00\uD83D", "\uD83D\uDE00", "\uD83D"}) {
            assertThat(Json.utf8Length(s)).as(s).isEqualTo(s.getBytes(StandardCharsets.UTF_8).length);
        }
    }
}
