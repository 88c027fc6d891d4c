package io.github.cdkstreamingpatterns.flink.kinesis.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.KinesisShardSplit;
import io.github.cdkstreamingpatterns.flink.kinesis.source.split.ShardProgress;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.statistics.Statistics;
import software.amazon.kinesis.retrieval.AggregatorUtil;
import software.amazon.kinesis.retrieval.KinesisClientRecord;

/**
 * Agreement with the reference de-aggregator, the Java KCL's {@code AggregatorUtil} (conventions rule 24). Where the
 * two differ it is only where the README says this connector chose differently: the KCL keeps the user records
 * before a bad key index and drops the rest, yields nothing for an aggregate without user records, and drops user
 * records from the first explicit hash key that is not a decimal in [0, 2^128); this connector passes such an
 * aggregate on whole, or keeps the odd hash key as it is.
 */
class KclAgreementPropertiesTest {
    private static final BigInteger MAX_HASH_KEY = BigInteger.ONE.shiftLeft(128).subtract(BigInteger.ONE);

    @Property(seed = PropertySeed.SEED, tries = 300)
    void validAggregatesDecodeExactlyAsTheKclDecodesThem(@ForAll("userRecords") List<KplTestEncoder.Entry> records) {
        byte[] data = KplTestEncoder.aggregate(records);
        assertThat(kcl(data)).isEqualTo(ours(data));
    }

    @Property(seed = PropertySeed.SEED, tries = 1000)
    void damagedOrRandomBodiesAgreeWithTheKclOrDifferOnlyWhereDocumented(
            @ForAll("userRecords") List<KplTestEncoder.Entry> records,
            @ForAll @IntRange(min = 0, max = 100_000) int where,
            @ForAll byte xor,
            @ForAll boolean truncate,
            @ForAll @Size(max = 60) byte[] random,
            @ForAll boolean useRandom) {
        byte[] body;
        if (useRandom) {
            body = random;
        } else {
            byte[] valid = KplTestEncoder.aggregate(records);
            body = Arrays.copyOfRange(valid, 4, valid.length - 16);
            int at = where % body.length;
            if (truncate) {
                body = Arrays.copyOf(body, at);
            } else {
                body[at] ^= xor;
            }
        }
        byte[] data = KplTestEncoder.withDigest(body);
        List<String> ours = ours(data);
        List<String> kcl = kcl(data);
        if (ours.equals(kcl)) {
            Statistics.collect(ours.get(0).startsWith("plain") ? "both pass through" : "both decode");
            return;
        }
        List<KplDeaggregator.UserRecord> decoded = KplDeaggregator.deaggregate(data);
        if (decoded == null) {
            // The KCL gave up part-way (or found no user record) and emitted a prefix: this connector passes it on
            // whole.
            Statistics.collect("KCL emits a prefix, we pass through");
            assertThat(kcl).allSatisfy(r -> assertThat(r).doesNotStartWith("plain"));
        } else {
            // The KCL stops at the first explicit hash key that is not a decimal in [0, 2^128): one it cannot parse
            // ends
            // the aggregate there (the records before it stay), one outside the range drops the whole aggregate.
            Statistics.collect("KCL rejects an explicit hash key, we keep it");
            int firstOdd = -1;
            for (int i = 0; i < decoded.size() && firstOdd < 0; i++) {
                if (!isHashKey(decoded.get(i).explicitHashKey())) {
                    firstOdd = i;
                }
            }
            assertThat(firstOdd)
                    .as("a difference without an odd hash key: ours %s, KCL %s", ours, kcl)
                    .isNotNegative();
            boolean parses = parses(decoded.get(firstOdd).explicitHashKey());
            assertThat(kcl).isEqualTo(parses ? List.of() : ours.subList(0, firstOdd));
        }
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<List<KplTestEncoder.Entry>> userRecords() {
        return new KplDeaggregatorPropertiesTest().userRecords();
    }

    private static boolean parses(String decimal) {
        try {
            new BigInteger(decimal);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean isHashKey(String ehk) {
        if (ehk == null) {
            return true;
        }
        try {
            BigInteger v = new BigInteger(ehk);
            return v.signum() >= 0 && v.compareTo(MAX_HASH_KEY) <= 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Our records as comparable strings: plain|... for a pass-through, else sub/pk/ehk/data. */
    private static List<String> ours(byte[] data) {
        List<KinesisRecord> out = new ShardProgress(new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, null))
                .toRecords(List.of(KplDeaggregatorPropertiesTest.record("5", "parent", data)));
        List<String> ids = new ArrayList<>();
        for (KinesisRecord r : out) {
            boolean passedThrough = KplDeaggregator.deaggregate(data) == null;
            ids.add(
                    passedThrough
                            ? "plain|" + Arrays.toString(r.data())
                            : r.subSequenceNumber() + "|" + r.partitionKey() + "|" + r.explicitHashKey() + "|"
                                    + Arrays.toString(r.data()));
        }
        return ids;
    }

    private static List<String> kcl(byte[] data) {
        KinesisClientRecord in = KinesisClientRecord.builder()
                .data(ByteBuffer.wrap(data.clone()))
                .partitionKey("parent")
                .sequenceNumber("5")
                .approximateArrivalTimestamp(Instant.ofEpochMilli(1000))
                .build();
        List<String> ids = new ArrayList<>();
        for (KinesisClientRecord r : new AggregatorUtil().deaggregate(List.of(in))) {
            ByteBuffer bb = r.data().duplicate();
            byte[] bytes = new byte[bb.remaining()];
            bb.get(bytes);
            ids.add(
                    r.aggregated()
                            ? r.subSequenceNumber() + "|" + r.partitionKey() + "|" + r.explicitHashKey() + "|"
                                    + Arrays.toString(bytes)
                            : "plain|" + Arrays.toString(bytes));
        }
        return ids;
    }
}
