package io.github.cdkstreamingpatterns.flink.kinesis.source.split;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.kinesis.InitialPosition;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisRecord;
import io.github.cdkstreamingpatterns.flink.kinesis.sink.KinesisSinkStateSerializer;
import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.KinesisEnumeratorState;
import io.github.cdkstreamingpatterns.flink.kinesis.source.enumerator.KinesisEnumeratorStateSerializer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.RequestEntryWrapper;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

class SerializersTest {
    @Test
    void splitRoundTripsWithAndWithoutProgress() throws IOException {
        KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
        for (KinesisShardSplit split : List.of(
                new KinesisShardSplit("shardId-000000000001", InitialPosition.AT_TIMESTAMP, 1764403200123L, null),
                new KinesisShardSplit(
                        "shardId-000000000002",
                        InitialPosition.LATEST,
                        0L,
                        "49590338271490256608559692538361571095921575989136588898"))) {
            assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(split)))
                    .isEqualTo(split);
        }
    }

    @Test
    void finishedMarkerRoundTripsAndVersionOneSplitsStillRestore() throws IOException {
        KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
        KinesisShardSplit finished =
                new KinesisShardSplit("shardId-000000000003", InitialPosition.TRIM_HORIZON, 0L, "42").asFinished();
        assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(finished)))
                .isEqualTo(finished);

        // Version 1 (checkpoints taken before the marker existed) is the same layout without the trailing flag.
        DataOutputSerializer v1 = new DataOutputSerializer(64);
        v1.writeUTF("shardId-000000000004");
        v1.writeUTF("LATEST");
        v1.writeLong(0L);
        v1.writeBoolean(true);
        v1.writeUTF("43");
        KinesisShardSplit restored = serializer.deserialize(1, v1.getCopyOfBuffer());
        assertThat(restored).isEqualTo(new KinesisShardSplit("shardId-000000000004", InitialPosition.LATEST, 0L, "43"));
        assertThat(restored.isFinished()).isFalse();
    }

    @Test
    void unknownSplitVersionIsRejected() {
        KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
        assertThatThrownBy(() -> serializer.deserialize(99, new byte[0]))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("99");
    }

    @Test
    void splitStateReportsTheLastEmittedSequenceAndSubSequenceNumber() {
        KinesisShardSplit split = new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, null);
        KinesisShardSplitState state = new KinesisShardSplitState(split);
        assertThat(state.toSplit().lastSequenceNumber()).isNull();
        state.setLastEmitted("7", 3L);
        assertThat(state.toSplit()).isEqualTo(split.withPosition("7", 3L));
        assertThat(state.toSplit().lastSubSequenceNumber()).isEqualTo(3L);
    }

    @Test
    void subSequenceNumberRoundTripsAndVersionTwoSplitsRestoreWithout() throws IOException {
        KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
        KinesisShardSplit inside = new KinesisShardSplit("shardId-5", InitialPosition.TRIM_HORIZON, 0L, null)
                .withPosition("49590338271490256608559692538361571095921575989136588898", 17L);
        assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(inside)))
                .isEqualTo(inside);
        assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(inside.asFinished())))
                .isEqualTo(inside.asFinished());

        // Version 2 (checkpoints from before de-aggregation, which emitted every Kinesis record whole).
        DataOutputSerializer v2 = new DataOutputSerializer(64);
        v2.writeUTF("shardId-6");
        v2.writeUTF("TRIM_HORIZON");
        v2.writeLong(0L);
        v2.writeBoolean(true);
        v2.writeUTF("44");
        v2.writeBoolean(false);
        KinesisShardSplit restored = serializer.deserialize(2, v2.getCopyOfBuffer());
        assertThat(restored).isEqualTo(new KinesisShardSplit("shardId-6", InitialPosition.TRIM_HORIZON, 0L, "44"));
        assertThat(restored.lastSubSequenceNumber()).isEqualTo(KinesisShardSplit.NO_SUB_SEQUENCE_NUMBER);
    }

    @Test
    void enumeratorStateKeepsTheSubSequenceNumberOfSplitsHandedBack() throws IOException {
        KinesisEnumeratorStateSerializer serializer = new KinesisEnumeratorStateSerializer();
        KinesisShardSplit handedBack =
                new KinesisShardSplit("shardId-7", InitialPosition.LATEST, 0L, null).withPosition("45", 2L);
        KinesisEnumeratorState state = new KinesisEnumeratorState(
                List.of(handedBack), java.util.Set.of("shardId-8"), java.util.Set.of(), true);
        assertThat(serializer
                        .deserialize(serializer.getVersion(), serializer.serialize(state))
                        .pendingSplits())
                .containsExactly(handedBack);

        // Version 1: pending splits in the version-1 split layout.
        DataOutputSerializer v1 = new DataOutputSerializer(64);
        v1.writeInt(1);
        v1.writeUTF("shardId-9");
        v1.writeUTF("LATEST");
        v1.writeLong(0L);
        v1.writeBoolean(true);
        v1.writeUTF("46");
        v1.writeInt(0);
        v1.writeInt(0);
        v1.writeBoolean(true);
        assertThat(serializer.deserialize(1, v1.getCopyOfBuffer()).pendingSplits())
                .containsExactly(new KinesisShardSplit("shardId-9", InitialPosition.LATEST, 0L, "46"));
    }

    @Test
    void bufferedSinkEntriesRoundTrip() throws IOException {
        KinesisSinkStateSerializer serializer = new KinesisSinkStateSerializer();
        PutRecordsRequestEntry plain = PutRecordsRequestEntry.builder()
                .partitionKey("device-1")
                .data(SdkBytes.fromUtf8String("{\"a\":1}"))
                .build();
        PutRecordsRequestEntry hashed = PutRecordsRequestEntry.builder()
                .partitionKey("k")
                .explicitHashKey("12345")
                .data(SdkBytes.fromByteArray(new byte[] {0, 1, (byte) 255}))
                .build();
        List<RequestEntryWrapper<PutRecordsRequestEntry>> entries = new ArrayList<>();
        entries.add(new RequestEntryWrapper<>(plain, 15));
        entries.add(new RequestEntryWrapper<>(hashed, 4));
        BufferedRequestState<PutRecordsRequestEntry> state = new BufferedRequestState<>(entries);

        BufferedRequestState<PutRecordsRequestEntry> restored =
                serializer.deserialize(serializer.getVersion(), serializer.serialize(state));
        assertThat(restored.getBufferedRequestEntries())
                .extracting(RequestEntryWrapper::getRequestEntry)
                .containsExactly(plain, hashed);
        assertThat(restored.getStateSize()).isEqualTo(state.getStateSize());
    }

    @Test
    void kinesisRecordUsesFlinksPojoSerializerNotKryo() throws IOException {
        TypeInformation<KinesisRecord> type = TypeInformation.of(KinesisRecord.class);
        assertThat(type).isInstanceOf(PojoTypeInfo.class);
        TypeSerializer<KinesisRecord> serializer = type.createSerializer(new SerializerConfigImpl());
        for (KinesisRecord record : List.of(
                new KinesisRecord(new byte[] {1, 2, 3}, "device-1", "4959", 1764403200123L, "shardId-1"),
                new KinesisRecord(new byte[] {4}, "device-2", "12345", "4960", 7L, 1764403200124L, "shardId-1"))) {
            DataOutputSerializer out = new DataOutputSerializer(64);
            serializer.serialize(record, out);
            assertThat(serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer())))
                    .isEqualTo(record);
        }
    }
}
