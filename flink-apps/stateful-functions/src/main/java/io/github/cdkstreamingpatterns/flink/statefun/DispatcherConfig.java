package io.github.cdkstreamingpatterns.flink.statefun;

import io.github.cdkstreamingpatterns.flink.common.Backoff;
import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/** Settings of the function dispatcher, taken from the StatefulFunctions (and StateExport) property groups. */
public final class DispatcherConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final int DEFAULT_MAX_CONCURRENT_CALLS = 100;
    public static final long DEFAULT_REQUEST_TIMEOUT_MS = 5000;
    public static final int DEFAULT_MAX_PENDING_FEEDBACK = 10_000;
    /** How long the runtime remembers an accepted ingress eventId: the enrichment job's dedupe horizon. */
    public static final Duration DEFAULT_INGRESS_DEDUPE_TTL = Duration.ofMinutes(60);

    static final long DEFAULT_BACKOFF_BASE_MS = 100;
    static final long DEFAULT_BACKOFF_MAX_MS = 30_000;

    private final ModuleDefinition module;
    private final int maxConcurrentCalls;
    private final int maxPendingFeedback;
    private final String signingRegion;
    private final long backoffBaseMs;
    private final long backoffMaxMs;
    private final StateExportConfig stateExport;
    private final String pipelineName;
    private final Duration ingressDedupeTtl;

    private DispatcherConfig(Builder b) {
        this.module = Objects.requireNonNull(b.module, "module");
        if (b.maxConcurrentCalls < 1) {
            throw new IllegalArgumentException("max.concurrent.calls must be >= 1, got " + b.maxConcurrentCalls);
        }
        if (b.backoffBaseMs < 1 || b.backoffMaxMs < b.backoffBaseMs) {
            throw new IllegalArgumentException(
                    "backoff must satisfy 1 <= base <= max, got " + b.backoffBaseMs + ", " + b.backoffMaxMs);
        }
        if (b.maxPendingFeedback < 1) {
            throw new IllegalArgumentException("max.pending.feedback must be >= 1, got " + b.maxPendingFeedback);
        }
        if (b.ingressDedupeTtl == null || b.ingressDedupeTtl.toMillis() < 1) {
            throw new IllegalArgumentException(
                    JobSettings.INGRESS_DEDUPE_TTL_MINUTES + " must be positive, got " + b.ingressDedupeTtl);
        }
        this.maxConcurrentCalls = b.maxConcurrentCalls;
        this.maxPendingFeedback = b.maxPendingFeedback;
        this.signingRegion = b.signingRegion == null || b.signingRegion.isBlank() ? null : b.signingRegion.trim();
        this.backoffBaseMs = b.backoffBaseMs;
        this.backoffMaxMs = b.backoffMaxMs;
        this.stateExport = b.stateExport;
        this.pipelineName = b.pipelineName;
        this.ingressDedupeTtl = b.ingressDedupeTtl;
    }

    public static Builder builder(ModuleDefinition module) {
        return new Builder(module);
    }

    public ModuleDefinition module() {
        return module;
    }

    public int maxConcurrentCalls() {
        return maxConcurrentCalls;
    }

    /**
     * Most function-to-function messages one subtask holds (handed over by the feedback loop, not yet applied or
     * dead-lettered). A message arriving beyond it is dead-lettered with {@code FEEDBACK_OVERFLOW}.
     */
    public int maxPendingFeedback() {
        return maxPendingFeedback;
    }

    /** Pending feedback at which the dispatcher stops taking ingress: half the bound, so calls already running have room. */
    int ingressPauseThreshold() {
        return Math.max(1, (maxPendingFeedback + 1) / 2);
    }

    /** Region for SigV4 signing, or null for unsigned requests. */
    public String signingRegion() {
        return signingRegion;
    }

    /** Retry delays of a failed call: exponential from the base to the max, with equal jitter. */
    public Backoff backoff() {
        return Backoff.equalJitter(backoffBaseMs, backoffMaxMs);
    }

    /** Null when state export is off. */
    public StateExportConfig stateExport() {
        return stateExport;
    }

    public String pipelineName() {
        return pipelineName;
    }

    /**
     * How long an accepted ingress eventId is remembered per target address (processing time, from its first
     * sighting): a later envelope with that eventId for that address within it is dropped as a duplicate.
     */
    public Duration ingressDedupeTtl() {
        return ingressDedupeTtl;
    }

    /** Builder. */
    public static final class Builder {
        private final ModuleDefinition module;
        private int maxConcurrentCalls = DEFAULT_MAX_CONCURRENT_CALLS;
        private int maxPendingFeedback = DEFAULT_MAX_PENDING_FEEDBACK;
        private String signingRegion;
        private long backoffBaseMs = DEFAULT_BACKOFF_BASE_MS;
        private long backoffMaxMs = DEFAULT_BACKOFF_MAX_MS;
        private StateExportConfig stateExport;
        private String pipelineName = "statefun";
        private Duration ingressDedupeTtl = DEFAULT_INGRESS_DEDUPE_TTL;

        private Builder(ModuleDefinition module) {
            this.module = module;
        }

        public Builder maxConcurrentCalls(int value) {
            this.maxConcurrentCalls = value;
            return this;
        }

        public Builder maxPendingFeedback(int value) {
            this.maxPendingFeedback = value;
            return this;
        }

        public Builder signingRegion(String value) {
            this.signingRegion = value;
            return this;
        }

        public Builder backoff(long baseMs, long maxMs) {
            this.backoffBaseMs = baseMs;
            this.backoffMaxMs = maxMs;
            return this;
        }

        public Builder stateExport(StateExportConfig value) {
            this.stateExport = value;
            return this;
        }

        /** Distinguishes several runtimes in one job (names the in-JVM feedback channels). */
        public Builder pipelineName(String value) {
            this.pipelineName = value;
            return this;
        }

        public Builder ingressDedupeTtl(Duration value) {
            this.ingressDedupeTtl = value;
            return this;
        }

        public DispatcherConfig build() {
            return new DispatcherConfig(this);
        }
    }
}
