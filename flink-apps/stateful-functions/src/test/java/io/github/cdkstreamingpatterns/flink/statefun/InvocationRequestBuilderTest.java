package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class InvocationRequestBuilderTest {
    /** The request as the dispatcher wrote it by string concatenation before this class: the bytes must not change. */
    private static String concatenated(Address address, String state, long version, List<String> messages) {
        return "{\"address\":" + Json.write(address.toJson())
                + ",\"state\":" + (state == null ? "null" : state)
                + ",\"stateVersion\":" + version
                + ",\"messages\":" + "[" + String.join(",", messages) + "]" + "}";
    }

    private static String message(String id, String text, Address from) {
        ObjectNode m = Json.object();
        m.put("id", id);
        m.put("type", "T");
        m.set("from", from == null ? null : from.toJson());
        m.putObject("payload").put("text", text);
        return Json.write(m);
    }

    private static String state(String text) {
        ObjectNode s = Json.object();
        s.put("text", text);
        s.putArray("list").add(1).add(2.5).add(text);
        return Json.write(s);
    }

    @Test
    void writesTheProtocolRequest() {
        Address address = new Address("order", "o-1");
        String batch = InvocationRequestBuilder.batch(List.of("{\"id\":\"a\"}", "{\"id\":\"b\"}"));
        assertThat(batch).isEqualTo("[{\"id\":\"a\"},{\"id\":\"b\"}]");
        assertThat(InvocationRequestBuilder.json(address, null, 0, batch))
                .isEqualTo("{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"state\":null,\"stateVersion\":0,"
                        + "\"messages\":[{\"id\":\"a\"},{\"id\":\"b\"}]}");
        assertThat(InvocationRequestBuilder.json(address, "{\"n\":1}", 7, batch))
                .isEqualTo("{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"state\":{\"n\":1},\"stateVersion\":7,"
                        + "\"messages\":[{\"id\":\"a\"},{\"id\":\"b\"}]}");
        assertThat(InvocationRequestBuilder.batch(List.of())).isEqualTo("[]");
    }

    @Test
    void escapesTheAddress() {
        Address address = new Address("t\"\\", "i\n\u0001😀");
        assertThat(InvocationRequestBuilder.json(address, null, 1, "[]"))
                .startsWith("{\"address\":{\"type\":\"t\\\"\\\\\",\"id\":\"i\\n\\u0001😀\"}");
    }

    @Provide
    Arbitrary<String> types() {
        return Arbitraries.strings().all().ofMinLength(1).ofMaxLength(30).filter(s -> s.indexOf('/') < 0);
    }

    @Provide
    Arbitrary<String> texts() {
        // Every char: quotes, backslashes, control characters, surrogate pairs (non-BMP) and lone surrogates.
        return Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(40),
                Arbitraries.strings()
                        .withChars("\"\\/\u0000\u001f\u007f\u2028\u2029\uFFFE\uFFFF")
                        .ofMaxLength(10),
                Arbitraries.strings().withCharRange('\uD800', '\uDFFF').ofMaxLength(6),
                Arbitraries.of("😀", "a😀b", "\uDBFF\uDFFF", "\u0000"));
    }

    @Provide
    Arbitrary<List<String>> textLists() {
        return texts().list().ofMaxSize(4);
    }

    private static boolean wellFormed(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(s);
    }

    @Property(seed = PropertySeed.SEED, tries = 400)
    void theRequestIsTheSameBytesAsBeforeAndRoundTripsThroughJackson(
            @ForAll("types") String type,
            @ForAll("texts") String idSuffix,
            @ForAll("texts") String stateText,
            @ForAll("textLists") List<String> texts,
            @ForAll @LongRange(min = 0) long version,
            @ForAll boolean withState)
            throws Exception {
        Address address = new Address(type, "i" + idSuffix);
        Address from = new Address("from", "f" + idSuffix);
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            messages.add(message("m" + i, texts.get(i), i % 2 == 0 ? null : from));
        }
        String state = withState ? state(stateText) : null;
        String batch = InvocationRequestBuilder.batch(messages);
        byte[] body = InvocationRequestBuilder.body(address, state, version, batch);

        assertThat(body)
                .isEqualTo(concatenated(address, state, version, messages).getBytes(StandardCharsets.UTF_8));

        JsonNode request = Json.MAPPER.readTree(body);
        assertThat(request.get("stateVersion").longValue()).isEqualTo(version);
        assertThat(request.get("messages").size()).isEqualTo(messages.size());
        assertThat(request.get("state").isNull()).isEqualTo(!withState);
        boolean allWellFormed = wellFormed(type)
                && wellFormed(idSuffix)
                && wellFormed(stateText)
                && texts.stream().allMatch(InvocationRequestBuilderTest::wellFormed);
        if (allWellFormed) {
            // Well-formed strings come back exactly; a lone surrogate is sent as '?', as it always was.
            assertThat(request.at("/address/type").textValue()).isEqualTo(type);
            assertThat(request.at("/address/id").textValue()).isEqualTo("i" + idSuffix);
            if (withState) {
                assertThat(request.get("state")).isEqualTo(Json.read(state));
                assertThat(request.at("/state/text").textValue()).isEqualTo(stateText);
            }
            for (int i = 0; i < texts.size(); i++) {
                assertThat(request.get("messages").get(i)).isEqualTo(Json.read(messages.get(i)));
                assertThat(request.get("messages").get(i).at("/payload/text").textValue())
                        .isEqualTo(texts.get(i));
            }
        }
    }
}
