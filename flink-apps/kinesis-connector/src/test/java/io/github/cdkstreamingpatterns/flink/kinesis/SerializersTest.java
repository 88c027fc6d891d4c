package io.github.cdkstreamingpatterns.flink.kinesis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.connector.base.sink.writer.BufferedRequestState;
import org.apache.flink.connector.base.sink.writer.RequestEntryWrapper;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;

class SerializersTest {
  @Test
  void splitRoundTripsWithAndWithoutProgress() throws IOException {
    KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
    for (KinesisShardSplit split : List.of(
        new KinesisShardSplit("shardId-000000000001", InitialPosition.AT_TIMESTAMP, 1764403200123L, null),
        new KinesisShardSplit("shardId-000000000002", InitialPosition.LATEST, 0L,
            "49590338271490256608559692538361571095921575989136588898"))) {
      assertThat(serializer.deserialize(serializer.getVersion(), serializer.serialize(split))).isEqualTo(split);
    }
  }

  @Test
  void unknownSplitVersionIsRejected() {
    KinesisShardSplitSerializer serializer = new KinesisShardSplitSerializer();
    assertThatThrownBy(() -> serializer.deserialize(99, new byte[0]))
        .isInstanceOf(IOException.class).hasMessageContaining("99");
  }

  @Test
  void splitStateReportsTheLastEmittedSequenceNumber() {
    KinesisShardSplit split = new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, null);
    KinesisShardSplitState state = new KinesisShardSplitState(split);
    assertThat(state.toSplit().lastSequenceNumber()).isNull();
    state.setLastSequenceNumber("7");
    assertThat(state.toSplit()).isEqualTo(new KinesisShardSplit("s", InitialPosition.TRIM_HORIZON, 0L, "7"));
  }

  @Test
  void bufferedSinkEntriesRoundTrip() throws IOException {
    KinesisSinkStateSerializer serializer = new KinesisSinkStateSerializer();
    PutRecordsRequestEntry plain = PutRecordsRequestEntry.builder()
        .partitionKey("device-1").data(SdkBytes.fromUtf8String("{\"a\":1}")).build();
    PutRecordsRequestEntry hashed = PutRecordsRequestEntry.builder()
        .partitionKey("k").explicitHashKey("12345").data(SdkBytes.fromByteArray(new byte[] {0, 1, (byte) 255})).build();
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
}
