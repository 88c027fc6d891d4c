package io.github.cdkstreamingpatterns.flink.statefun;

/** Result of one HTTP call: a parsed response, or a failure with the dead-letter reason it would carry. */
final class InvocationOutcome {
    final FunctionResponse response;
    final String failureReason;
    final String failureDetail;

    private InvocationOutcome(FunctionResponse response, String failureReason, String failureDetail) {
        this.response = response;
        this.failureReason = failureReason;
        this.failureDetail = failureDetail;
    }

    static InvocationOutcome success(FunctionResponse response) {
        return new InvocationOutcome(response, null, null);
    }

    static InvocationOutcome failure(String reason, String detail) {
        return new InvocationOutcome(null, reason, detail);
    }

    boolean succeeded() {
        return response != null;
    }
}
