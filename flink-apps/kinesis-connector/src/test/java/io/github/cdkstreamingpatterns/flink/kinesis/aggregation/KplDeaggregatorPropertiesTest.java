package io.github.cdkstreamingpatterns.flink.kinesis.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.ShardProgress;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.Record;

/** Laws of the KPL de-aggregation: round trip through an aggregate, and no input that makes it throw. */
class KplDeaggregatorPropertiesTest {
    private static final BigInteger MAX_HASH_KEY = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);

    @Provide
    Arbitrary<List<KplTestEncoder.Entry>> userRecords() {
        // Keys as a producer can send them: any text, but well-formed (UTF-8 cannot carry a lone surrogate).
        Arbitrary<String> anyKey =
                Arbitraries.strings().all().ofMaxLength(40).map(KplDeaggregatorPropertiesTest::wellFormed);
        Arbitrary<String> longKey = Arbitraries.strings()
                .all()
                .ofMinLength(200)
                .ofMaxLength(300)
                .map(KplDeaggregatorPropertiesTest::wellFormed);
        Arbitrary<String> fewKeys = Arbitraries.of("device-1", "device-2", "", "Ünï-鍵-🔑");
        Arbitrary<String> key = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(5, anyKey),
                net.jqwik.api.Tuple.of(1, longKey),
                net.jqwik.api.Tuple.of(4, fewKeys));
        Arbitrary<String> hashKey = Arbitraries.oneOf(
                Arbitraries.bigIntegers().between(BigInteger.ZERO, MAX_HASH_KEY).map(BigInteger::toString),
                Arbitraries.of("0", MAX_HASH_KEY.toString()));
        Arbitrary<byte[]> data = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
        Arbitrary<KplTestEncoder.Entry> entry =
                Combinators.combine(key, hashKey.injectNull(0.5), data).as(KplTestEncoder.Entry::new);
        return entry.list().ofMinSize(1).ofMaxSize(60);
    }

    private static String wellFormed(String s) {
        return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    }

    @Property(seed = PropertySeed.SEED, tries = 300)
    void anAggregateSplitsIntoExactlyItsUserRecordsInOrder(@ForAll("userRecords") List<KplTestEncoder.Entry> records) {
        List<KplDeaggregator.UserRecord> decoded = KplDeaggregator.deaggregate(KplTestEncoder.aggregate(records));

        assertThat(decoded).isNotNull().hasSameSizeAs(records);
        for (int i = 0; i < records.size(); i++) {
            assertThat(decoded.get(i).partitionKey()).isEqualTo(records.get(i).partitionKey());
            assertThat(decoded.get(i).explicitHashKey())
                    .isEqualTo(records.get(i).explicitHashKey());
            assertThat(decoded.get(i).data()).isEqualTo(records.get(i).data());
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 200)
    void eachUserRecordIsEmittedWithTheAggregatesSequenceNumberAndItsIndex(
            @ForAll("userRecords") List<KplTestEncoder.Entry> records,
            @ForAll @IntRange(min = 0, max = 3) int plainBefore) {
        List<Record> fetched = new ArrayList<>();
        for (int i = 0; i < plainBefore; i++) {
            fetched.add(record(String.valueOf(100 + i), "plain-" + i, ("p" + i).getBytes(StandardCharsets.UTF_8)));
        }
        fetched.add(record("200", "aggregate-key", KplTestEncoder.aggregate(records)));

        List<KinesisRecord> out = progress(null).toRecords(fetched);

        assertThat(out).hasSize(plainBefore + records.size());
        for (int i = 0; i < plainBefore; i++) {
            assertThat(out.get(i))
                    .isEqualTo(new KinesisRecord(
                            ("p" + i).getBytes(StandardCharsets.UTF_8),
                            "plain-" + i,
                            String.valueOf(100 + i),
                            1000L,
                            "shard"));
        }
        for (int i = 0; i < records.size(); i++) {
            KplTestEncoder.Entry e = records.get(i);
            assertThat(out.get(plainBefore + i))
                    .isEqualTo(new KinesisRecord(
                            e.data(), e.partitionKey(), e.explicitHashKey(), "200", i, 1000L, "shard"));
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 500)
    void bytesStartingWithTheMagicButAWrongDigestPassThroughUnchanged(@ForAll @Size(max = 400) byte[] tail) {
        byte[] data = KplTestEncoder.concat(KplDeaggregator.MAGIC, tail);
        // One in 2^128 random tails carries its own MD5; jqwik's edge cases (all zeros...) do not.
        assertThat(KplDeaggregator.deaggregate(data)).isNull();
        assertPassesThrough(data);
    }

    @Property(seed = PropertySeed.SEED, tries = 1000)
    void anyBodyWithAMatchingDigestNeverThrows(@ForAll @Size(max = 400) byte[] body) {
        byte[] data = KplTestEncoder.withDigest(body);
        List<KplDeaggregator.UserRecord> decoded = KplDeaggregator.deaggregate(data);
        if (decoded == null) {
            assertPassesThrough(data);
        } else {
            assertThat(decoded).isNotEmpty();
        }
    }

    @Property(seed = PropertySeed.SEED, tries = 500)
    void aDamagedButRehashedAggregateIsEitherDecodedOrPassedThroughWhole(
            @ForAll("userRecords") List<KplTestEncoder.Entry> records,
            @ForAll @IntRange(min = 0, max = 100_000) int where,
            @ForAll byte xor,
            @ForAll boolean truncate) {
        byte[] valid = KplTestEncoder.aggregate(records);
        byte[] body = Arrays.copyOfRange(valid, 4, valid.length - 16);
        int at = where % body.length;
        if (truncate) {
            body = Arrays.copyOf(body, at);
        } else {
            body[at] ^= xor;
        }
        byte[] data = KplTestEncoder.withDigest(body);

        List<KinesisRecord> out = progress(null).toRecords(List.of(record("1", "parent", data)));

        // All or nothing: either user records (sub-sequence numbers 0..n-1) or the parent exactly as it was read.
        if (KplDeaggregator.deaggregate(data) == null) {
            assertThat(out).containsExactly(new KinesisRecord(data, "parent", "1", 1000L, "shard"));
        } else {
            assertThat(out).isNotEmpty();
            for (int i = 0; i < out.size(); i++) {
                assertThat(out.get(i).subSequenceNumber()).isEqualTo(i);
            }
        }
    }

    @Example
    void unknownFieldsTagsAndGroupsAreSkippedAsProtobufDoes() {
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        KplTestEncoder.lengthDelimited(body, 1, "k".getBytes(StandardCharsets.UTF_8));
        KplTestEncoder.varintField(body, 9, 300); // unknown varint field
        body.writeBytes(new byte[] {0x55, 1, 2, 3, 4}); // field 10, fixed32
        body.writeBytes(new byte[] {0x59, 1, 2, 3, 4, 5, 6, 7, 8}); // field 11, fixed64
        body.writeBytes(new byte[] {0x63, 0x08, 0x01, 0x64}); // field 12 as a group holding a varint
        java.io.ByteArrayOutputStream inner = new java.io.ByteArrayOutputStream();
        KplTestEncoder.varintField(inner, 1, 0);
        java.io.ByteArrayOutputStream tag = new java.io.ByteArrayOutputStream();
        KplTestEncoder.lengthDelimited(tag, 1, "tag-key".getBytes(StandardCharsets.UTF_8));
        KplTestEncoder.lengthDelimited(inner, 4, tag.toByteArray()); // tags
        KplTestEncoder.lengthDelimited(inner, 3, "payload".getBytes(StandardCharsets.UTF_8));
        KplTestEncoder.lengthDelimited(body, 3, inner.toByteArray());

        List<KplDeaggregator.UserRecord> decoded =
                KplDeaggregator.deaggregate(KplTestEncoder.withDigest(body.toByteArray()));

        assertThat(decoded).singleElement().satisfies(u -> {
            assertThat(u.partitionKey()).isEqualTo("k");
            assertThat(u.explicitHashKey()).isNull();
            assertThat(new String(u.data(), StandardCharsets.UTF_8)).isEqualTo("payload");
        });
    }

    @Example
    void deeplyNestedGroupsPassThroughInsteadOfOverflowingTheStack() {
        byte[] body = new byte[200_000];
        Arrays.fill(body, (byte) 0x0B); // start-group of field 1, over and over
        byte[] data = KplTestEncoder.withDigest(body);
        assertThat(KplDeaggregator.deaggregate(data)).isNull();
    }

    private static void assertPassesThrough(byte[] data) {
        List<KinesisRecord> out = progress(null).toRecords(List.of(record("7", "parent", data)));
        assertThat(out).containsExactly(new KinesisRecord(data, "parent", "7", 1000L, "shard"));
    }

    static ShardProgress progress(String lastSequenceNumber) {
        return new ShardProgress(new KinesisShardSplit("shard", InitialPosition.TRIM_HORIZON, 0L, lastSequenceNumber));
    }

    static Record record(String seq, String partitionKey, byte[] data) {
        return Record.builder()
                .sequenceNumber(seq)
                .partitionKey(partitionKey)
                .data(SdkBytes.fromByteArray(data))
                .approximateArrivalTimestamp(Instant.ofEpochMilli(1000))
                .build();
    }
}
