package io.github.cdkstreamingpatterns.flink.kinesis.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfig;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisClientConfigTest;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisErrors;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisStreamSink;
import io.github.cdkstreamingpatterns.flink.kinesis.KinesisTestData;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.kinesis.model.AccessDeniedException;
import software.amazon.awssdk.services.kinesis.model.KmsThrottlingException;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResultEntry;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;

class KinesisStreamSinkTest {
    static final KinesisClientConfig CONFIG = KinesisClientConfig.of(KinesisClientConfigTest.ARN, "eu-west-1", null);

    @Test
    void builderRequiresSchemaAndKeyGenerator() {
        assertThatThrownBy(() -> KinesisStreamSink.<String>builder()
                        .clientConfig(CONFIG)
                        .partitionKeyGenerator(s -> s)
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("serializationSchema");
        assertThatThrownBy(() -> KinesisStreamSink.<String>builder()
                        .clientConfig(CONFIG)
                        .serializationSchema(new SimpleStringSchema())
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("partitionKeyGenerator");
    }

    @Test
    void batchLimitsCannotExceedKinesisLimits() {
        assertThatThrownBy(() -> KinesisStreamSink.<String>builder()
                        .clientConfig(CONFIG)
                        .serializationSchema(new SimpleStringSchema())
                        .partitionKeyGenerator(s -> s)
                        .maxBatchSize(501)
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("501");
        assertThatThrownBy(() -> KinesisStreamSink.<String>builder()
                        .clientConfig(CONFIG)
                        .serializationSchema(new SimpleStringSchema())
                        .partitionKeyGenerator(s -> s)
                        .maxBatchSizeInBytes(6L * 1024 * 1024)
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchSizeInBytes");
    }

    @Test
    void converterUsesSchemaAndKey() {
        KinesisElementConverter<String> converter =
                new KinesisElementConverter<>(new SimpleStringSchema(), KinesisTestData::keyOf);
        PutRecordsRequestEntry entry = converter.apply("device-007|3", null);
        assertThat(entry.partitionKey()).isEqualTo("device-007");
        assertThat(entry.data().asUtf8String()).isEqualTo("device-007|3");
    }

    @Test
    void converterRejectsEmptyAndOverlongKeysNamingThem() {
        KinesisElementConverter<String> empty = new KinesisElementConverter<>(new SimpleStringSchema(), s -> "");
        assertThatThrownBy(() -> empty.apply("x", null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("''");
        KinesisElementConverter<String> tooLong =
                new KinesisElementConverter<>(new SimpleStringSchema(), s -> "k".repeat(257));
        assertThatThrownBy(() -> tooLong.apply("x", null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("257 chars");
    }

    @Test
    void permanentErrorsAreFatalAndTransientOnesAreRetried() {
        assertThat(KinesisErrors.isFatal(
                        ResourceNotFoundException.builder().message("x").build()))
                .isTrue();
        assertThat(KinesisErrors.isFatal(
                        AccessDeniedException.builder().message("x").build()))
                .isTrue();
        assertThat(KinesisErrors.isFatal(AwsServiceException.builder()
                        .message("forbidden")
                        .statusCode(403)
                        .build()))
                .isTrue();
        assertThat(KinesisErrors.isFatal(ProvisionedThroughputExceededException.builder()
                        .message("x")
                        .build()))
                .isFalse();
        assertThat(KinesisErrors.isFatal(
                        KmsThrottlingException.builder().message("x").build()))
                .isFalse();
        assertThat(KinesisErrors.isFatal(AwsServiceException.builder()
                        .message("boom")
                        .statusCode(500)
                        .build()))
                .isFalse();
        assertThat(KinesisErrors.isFatal(SdkClientException.create("connection reset")))
                .isFalse();
    }

    @Test
    void transientErrorsAreThoseTheServiceOrTheNetworkRecoversFrom() {
        assertThat(KinesisErrors.isTransient(
                        SdkClientException.create("Unable to execute HTTP request: Connection refused")))
                .isTrue();
        assertThat(KinesisErrors.isTransient(new CompletionException(SdkClientException.create("timeout"))))
                .isTrue();
        assertThat(KinesisErrors.isTransient(AwsServiceException.builder()
                        .message("InternalFailure")
                        .statusCode(500)
                        .build()))
                .isTrue();
        assertThat(KinesisErrors.isTransient(AwsServiceException.builder()
                        .message("ServiceUnavailable")
                        .statusCode(503)
                        .build()))
                .isTrue();
        assertThat(KinesisErrors.isTransient(ProvisionedThroughputExceededException.builder()
                        .message("x")
                        .statusCode(400)
                        .build()))
                .isTrue();
        assertThat(KinesisErrors.isTransient(AccessDeniedException.builder()
                        .message("x")
                        .statusCode(400)
                        .build()))
                .isFalse();
        assertThat(KinesisErrors.isTransient(ResourceNotFoundException.builder()
                        .message("x")
                        .statusCode(400)
                        .build()))
                .isFalse();
        assertThat(KinesisErrors.isTransient(new IllegalStateException("a bug")))
                .isFalse();
    }

    @Test
    void asyncWrappersAreUnwrapped() {
        ResourceNotFoundException cause =
                ResourceNotFoundException.builder().message("x").build();
        assertThat(KinesisErrors.unwrap(new CompletionException(cause))).isSameAs(cause);
    }

    @Test
    void retryDelayGrowsAndIsCapped() {
        for (int attempt = 1; attempt < 40; attempt++) {
            long cap = Math.min(5_000L, 100L << Math.min(attempt - 1, 10));
            assertThat(KinesisStreamSinkWriter.retryDelayMillis(attempt)).isBetween(cap / 2, cap);
        }
    }

    @Test
    void onlyTheEntriesKinesisRejectedAreRetried() {
        List<PutRecordsRequestEntry> entries = List.of(entry("a"), entry("b"), entry("c"));
        PutRecordsResponse response = PutRecordsResponse.builder()
                .failedRecordCount(2)
                .records(
                        PutRecordsResultEntry.builder()
                                .errorCode("ProvisionedThroughputExceededException")
                                .errorMessage("slow")
                                .build(),
                        PutRecordsResultEntry.builder()
                                .sequenceNumber("1")
                                .shardId("shardId-000000000000")
                                .build(),
                        PutRecordsResultEntry.builder()
                                .errorCode("InternalFailure")
                                .errorMessage("oops")
                                .build())
                .build();
        assertThat(KinesisStreamSinkWriter.failedEntries(entries, response))
                .containsExactly(entries.get(0), entries.get(2));
    }

    @Test
    void unmappableResultsResendTheWholeBatch() {
        List<PutRecordsRequestEntry> entries = List.of(entry("a"), entry("b"));
        PutRecordsResponse response = PutRecordsResponse.builder()
                .failedRecordCount(1)
                .records(PutRecordsResultEntry.builder()
                        .errorCode("InternalFailure")
                        .build())
                .build();
        assertThat(KinesisStreamSinkWriter.failedEntries(entries, response)).isEqualTo(entries);
    }

    static PutRecordsRequestEntry entry(String key) {
        return PutRecordsRequestEntry.builder()
                .partitionKey(key)
                .data(SdkBytes.fromUtf8String(key))
                .build();
    }
}
