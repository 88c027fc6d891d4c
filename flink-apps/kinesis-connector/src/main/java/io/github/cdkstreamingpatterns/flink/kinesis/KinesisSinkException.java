package io.github.cdkstreamingpatterns.flink.kinesis;

/** A non-retryable Kinesis sink failure (missing stream, no permission, invalid request); it fails the job. */
public class KinesisSinkException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KinesisSinkException(String message, Throwable cause) {
        super(message, cause);
    }
}
