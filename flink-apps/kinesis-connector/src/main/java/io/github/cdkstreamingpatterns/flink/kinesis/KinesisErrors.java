package io.github.cdkstreamingpatterns.flink.kinesis;

import java.util.concurrent.CompletionException;
import org.apache.flink.annotation.Internal;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.kinesis.model.AccessDeniedException;
import software.amazon.awssdk.services.kinesis.model.InvalidArgumentException;
import software.amazon.awssdk.services.kinesis.model.KmsAccessDeniedException;
import software.amazon.awssdk.services.kinesis.model.KmsDisabledException;
import software.amazon.awssdk.services.kinesis.model.KmsInvalidStateException;
import software.amazon.awssdk.services.kinesis.model.KmsNotFoundException;
import software.amazon.awssdk.services.kinesis.model.KmsOptInRequiredException;
import software.amazon.awssdk.services.kinesis.model.KmsThrottlingException;
import software.amazon.awssdk.services.kinesis.model.LimitExceededException;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;

/**
 * How the connector's readers and writer classify an error the SDK gives up on (after its own retries): a fatal one
 * fails the job, a transient one is retried by the connector with a backoff. A failover is not free: the job
 * restarts from its last checkpoint and its at-least-once sink writes again what followed it, so an outage the
 * service recovers from (connection refused or reset, a timeout, a 5xx) must not cause one.
 */
@Internal
public final class KinesisErrors {
    private KinesisErrors() {}

    /** The cause inside the wrappers the async client and {@link java.util.concurrent.CompletableFuture} add. */
    public static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof CompletionException || t.getClass() == RuntimeException.class) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Errors that retrying cannot fix: a missing stream, access denied, an unusable KMS key, an invalid argument. */
    public static boolean isFatal(Throwable error) {
        Throwable cause = unwrap(error);
        if (cause instanceof ResourceNotFoundException
                || cause instanceof AccessDeniedException
                || cause instanceof InvalidArgumentException
                || cause instanceof KmsAccessDeniedException
                || cause instanceof KmsDisabledException
                || cause instanceof KmsInvalidStateException
                || cause instanceof KmsNotFoundException
                || cause instanceof KmsOptInRequiredException) {
            return true;
        }
        if (cause instanceof AwsServiceException) {
            int status = ((AwsServiceException) cause).statusCode();
            return status == 403 || status == 404;
        }
        return false;
    }

    /**
     * Errors the service or the network recovers from: no answer at all (connection refused or reset, a timeout: the
     * SDK's client exceptions), throttling, and server-side failures (5xx).
     */
    public static boolean isTransient(Throwable error) {
        Throwable cause = unwrap(error);
        if (cause instanceof ProvisionedThroughputExceededException
                || cause instanceof LimitExceededException
                || cause instanceof KmsThrottlingException) {
            return true;
        }
        if (cause instanceof AwsServiceException) {
            AwsServiceException e = (AwsServiceException) cause;
            return e.isThrottlingException() || e.statusCode() >= 500;
        }
        return cause instanceof SdkClientException;
    }
}
