package io.github.cdkstreamingpatterns.flink.local;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.JobListener;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironmentFactory;

/**
 * Runs a Flink application's {@code main} in a local mini cluster, as {@code npm run local} does with the jars `cdk
 * synth` puts in cdk.out. The application is unchanged: its {@code StreamExecutionEnvironment.getExecutionEnvironment()}
 * returns a {@link LocalStreamEnvironment} configured by this runner's options (so it takes its local-mode branches),
 * and {@code flink.application.properties} names the property groups file.
 *
 * <p>Checkpoints go to {@code --checkpoint-dir} and are retained on cancellation; a run killed at any point can be
 * restarted from its latest completed checkpoint with {@code --restore}. The runner's settings win over the
 * application's configuration; an application that enables checkpointing only when it is not enabled yet (as the
 * stateful-functions job does) gets {@code --checkpoint-interval-ms}.
 *
 * <p>Stdout carries one line per event (see {@link Events}): {@code JOB_STARTED}, {@code CHECKPOINT}, {@code
 * CHECKPOINT_FAILED}, {@code JOB_RESTARTING}, then one of {@code JOB_FINISHED}, {@code JOB_FAILED} (exit code 1) or,
 * after SIGTERM (or, with {@code --exit-on-stdin-eof true}, when stdin closes), {@code JOB_CANCELLED}. Exit code 2:
 * bad arguments.
 */
public final class LocalJobRunner {
    static final String PROPERTIES_SYSTEM_PROPERTY = "flink.application.properties";
    static final String REPORTER_NAME = "localrunner";

    private LocalJobRunner() {}

    public static void main(String[] args) {
        RunnerOptions options;
        try {
            options = RunnerOptions.parse(args);
        } catch (Exception e) {
            Events.emit("JOB_FAILED", Map.of("reason", "bad arguments: " + e.getMessage()));
            System.exit(2);
            return;
        }
        AtomicBoolean stopping = new AtomicBoolean();
        AtomicBoolean done = new AtomicBoolean();
        int code;
        try {
            code = run(options, stopping, done);
        } catch (Throwable t) {
            // The runner itself failed (e.g. a Flink class missing from the classpath), before the application ran.
            done.set(true);
            t.printStackTrace();
            Events.emit(
                    "JOB_FAILED",
                    Map.of(
                            "reason",
                            oneLine(rootCause(t)),
                            "exception",
                            t.getClass().getName()));
            code = 1;
        }
        // After SIGTERM the shutdown hook owns the exit; System.exit would block on it.
        if (!stopping.get()) {
            System.exit(code);
        }
    }

    /** Runs the application; returns the process exit code. */
    static int run(RunnerOptions options, AtomicBoolean stopping, AtomicBoolean done) {
        if (options.properties != null) {
            System.setProperty(PROPERTIES_SYSTEM_PROPERTY, options.properties.toString());
        }
        AtomicReference<JobClient> job = new AtomicReference<>();
        Runtime.getRuntime()
                .addShutdownHook(new Thread(() -> cancelOnShutdown(options, job, stopping, done), "local-runner-stop"));
        if (options.exitOnStdinEof) {
            watchStdin();
        }
        Configuration configuration = configuration(options);
        JobListener listener = new JobListener() {
            @Override
            public void onJobSubmitted(JobClient jobClient, Throwable throwable) {
                if (jobClient != null) {
                    job.set(jobClient);
                    Map<String, Object> fields = new LinkedHashMap<>();
                    fields.put("jobId", jobClient.getJobID().toString());
                    fields.put("mainClass", options.mainClass);
                    fields.put("restoredFrom", options.restore);
                    fields.put(
                            "checkpointDir", options.checkpointDir == null ? null : options.checkpointDir.toString());
                    Events.emit("JOB_STARTED", fields);
                }
            }

            @Override
            public void onJobExecuted(JobExecutionResult result, Throwable throwable) {}
        };
        ContextEnvironment.install(appConfiguration -> {
            Configuration merged = new Configuration();
            merged.addAll(appConfiguration);
            merged.addAll(configuration);
            LocalStreamEnvironment env = ContextEnvironment.local(merged);
            env.setParallelism(options.parallelism);
            env.registerJobListener(listener);
            return env;
        });
        try {
            Class<?> mainClass = Class.forName(
                    options.mainClass, true, Thread.currentThread().getContextClassLoader());
            Method main = mainClass.getMethod("main", String[].class);
            main.invoke(null, (Object) options.applicationArgs.toArray(new String[0]));
            done.set(true);
            Events.emit("JOB_FINISHED", Map.of("mainClass", options.mainClass));
            return 0;
        } catch (Throwable t) {
            done.set(true);
            Throwable cause = t instanceof InvocationTargetException && t.getCause() != null ? t.getCause() : t;
            if (stopping.get()) {
                return 0;
            }
            cause.printStackTrace();
            Throwable root = rootCause(cause);
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("reason", oneLine(root));
            fields.put("exception", cause.getClass().getName());
            Events.emit("JOB_FAILED", fields);
            return 1;
        }
    }

    /** What the runner sets on the application's environment. */
    static Configuration configuration(RunnerOptions options) {
        Configuration c = new Configuration();
        c.set(CoreOptions.DEFAULT_PARALLELISM, options.parallelism);
        if (options.checkpointDir != null) {
            c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            c.set(
                    CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                    options.checkpointDir.toUri().toString());
            // Kept when the job is cancelled (SIGTERM), and nobody deletes them when the process is killed.
            c.set(
                    CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                    ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
            c.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, 3);
        }
        if (options.checkpointIntervalMs != null) {
            c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(options.checkpointIntervalMs));
        }
        if (options.restore != null) {
            c.set(StateRecoveryOptions.SAVEPOINT_PATH, options.restore);
        }
        // A few restarts, then the job fails and the runner says why (Managed Flink would restart forever).
        c.set(RestartStrategyOptions.RESTART_STRATEGY, options.restartAttempts > 0 ? "fixed-delay" : "none");
        if (options.restartAttempts > 0) {
            c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, options.restartAttempts);
            c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
        }
        c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        c.set(RestOptions.ADDRESS, "127.0.0.1");
        Configuration reporter = MetricOptions.forReporter(c, REPORTER_NAME);
        reporter.set(MetricOptions.REPORTER_FACTORY_CLASS, CheckpointReporter.Factory.class.getName());
        reporter.set(MetricOptions.REPORTER_INTERVAL, Duration.ofMillis(options.reportIntervalMs));
        return c;
    }

    /** The parent closes stdin (or dies): stop as on SIGTERM, so no orphaned JVM keeps running. */
    private static void watchStdin() {
        Thread watcher = new Thread(
                () -> {
                    try {
                        while (System.in.read() != -1) {
                            // Input is ignored; only its end matters.
                        }
                    } catch (java.io.IOException e) {
                        // A broken stdin is a closed one.
                    }
                    Events.emit("STDIN_CLOSED", Map.of());
                    System.exit(143);
                },
                "local-runner-stdin");
        watcher.setDaemon(true);
        watcher.start();
    }

    /** SIGTERM: cancel the job (its checkpoints are retained) and wait for it, within the timeout. */
    private static void cancelOnShutdown(
            RunnerOptions options, AtomicReference<JobClient> job, AtomicBoolean stopping, AtomicBoolean done) {
        if (done.get()) {
            return;
        }
        stopping.set(true);
        JobClient client = job.get();
        if (client == null) {
            Events.emit("JOB_CANCELLED", Map.of("submitted", false));
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.cancelTimeoutMs);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("jobId", client.getJobID().toString());
        try {
            client.cancel().get(options.cancelTimeoutMs, TimeUnit.MILLISECONDS);
            // The application's execute() returns once the job is cancelled (the mini cluster then shuts down).
            while (!done.get() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            fields.put("terminated", done.get());
        } catch (Exception e) {
            fields.put("terminated", done.get());
            fields.put("error", oneLine(e));
        }
        Events.emit("JOB_CANCELLED", fields);
    }

    private static Throwable rootCause(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }

    private static String oneLine(Throwable t) {
        String message = t.getMessage() == null ? "" : ": " + t.getMessage();
        return (t.getClass().getName() + message).replaceAll("\\s+", " ").trim();
    }

    /** Access to the protected hook through which Flink's CLI installs its own context environment. */
    private static final class ContextEnvironment extends StreamExecutionEnvironment {
        private static StreamExecutionEnvironmentFactory installed;

        static synchronized void install(StreamExecutionEnvironmentFactory factory) {
            installed = factory;
            initializeContextEnvironment(factory);
        }

        /**
         * A LocalStreamEnvironment refuses to be created while a context factory is installed (that is how Flink's CLI
         * keeps a program from bypassing it), so the factory steps aside while it creates one.
         */
        static synchronized LocalStreamEnvironment local(Configuration configuration) {
            resetContextEnvironment();
            try {
                return new LocalStreamEnvironment(configuration);
            } finally {
                initializeContextEnvironment(installed);
            }
        }
    }
}
