package io.github.cdkstreamingpatterns.flink.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@link CountingJob} through the runner in child JVMs: checkpoints, a kill, a restore, a graceful stop. */
class LocalJobRunnerTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final Pattern CHECKPOINT_PATH = Pattern.compile("\"path\":\"([^\"]+)\"");
    private static final Pattern CHECKPOINT_ID = Pattern.compile("\"id\":(\\d+)");

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void checkpointsAKilledJobAndRestoresItFromTheLatestCheckpoint(@TempDir Path dir) throws Exception {
        Path properties = Files.writeString(dir.resolve("props.json"), "[]");
        Path checkpoints = dir.resolve("checkpoints");
        Run first = start(
                "--main-class",
                CountingJob.class.getName(),
                "--properties",
                properties.toString(),
                "--checkpoint-dir",
                checkpoints.toString(),
                "--checkpoint-interval-ms",
                "500");
        // The application sees a local environment, the properties file and the runner's interval (not its own 60 s).
        assertThat(first.await(l -> l.startsWith("LOCAL "))).isEqualTo("LOCAL true " + properties + " 500");
        assertThat(first.await(l -> l.startsWith("JOB_STARTED "))).contains("\"restoredFrom\":null");
        first.await(l -> l.startsWith("CHECKPOINT "));
        String checkpoint = first.await(l -> l.startsWith("CHECKPOINT "));
        String path = group(CHECKPOINT_PATH, checkpoint);
        long id = Long.parseLong(group(CHECKPOINT_ID, checkpoint));
        assertThat(id).isGreaterThanOrEqualTo(2);
        assertThat(checkpoint).contains("\"durationMs\":").contains("\"completed\":");
        assertThat(path).startsWith("file:").endsWith("/chk-" + id);
        assertThat(Path.of(java.net.URI.create(path)).resolve("_metadata")).exists();
        first.process.destroyForcibly();
        assertThat(first.process.waitFor(30, TimeUnit.SECONDS)).isTrue();

        Run second = start(
                "--main-class",
                CountingJob.class.getName(),
                "--checkpoint-dir",
                checkpoints.toString(),
                "--checkpoint-interval-ms",
                "500",
                "--restore",
                path);
        assertThat(second.await(l -> l.startsWith("JOB_STARTED "))).contains("\"restoredFrom\":\"" + path + "\"");
        String[] value = second.await(l -> l.startsWith("VALUE ")).split(" ");
        long n = Long.parseLong(value[1]);
        // Resumed where the checkpoint was, with the count of that same checkpoint: nothing restarted from 0.
        assertThat(n).isPositive();
        assertThat(Long.parseLong(value[2])).isEqualTo(n + 1);
        String next = second.await(l -> l.startsWith("CHECKPOINT "));
        assertThat(Long.parseLong(group(CHECKPOINT_ID, next))).isGreaterThan(id);

        // SIGTERM: the job is cancelled, the process ends, the checkpoints stay.
        // Through the handle: Process.destroy() would also close the pipe before the last lines are read.
        second.process.toHandle().destroy();
        assertThat(second.await(l -> l.startsWith("JOB_CANCELLED ")))
                .contains("\"terminated\":true")
                .doesNotContain("error");
        assertThat(second.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Path.of(java.net.URI.create(group(CHECKPOINT_PATH, next))).resolve("_metadata"))
                .exists();
    }

    @Test
    void aJobThatFailsAfterItsRestartsEndsTheRunWithItsReason(@TempDir Path dir) throws Exception {
        Run run = start(
                "--main-class",
                CountingJob.class.getName(),
                "--checkpoint-dir",
                dir.toString(),
                "--checkpoint-interval-ms",
                "500",
                "--restart-attempts",
                "1",
                "--",
                "fail");
        assertThat(run.await(l -> l.startsWith("JOB_RESTARTING "))).isEqualTo("JOB_RESTARTING {\"restarts\":1}");
        assertThat(run.await(l -> l.startsWith("JOB_FAILED ")))
                .contains("java.lang.IllegalStateException: number 5 is not welcome");
        assertThat(run.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(run.process.exitValue()).isEqualTo(1);
    }

    @Test
    void badArgumentsExitWithCode2() throws Exception {
        Run run = start("--parallelism", "0", "--main-class", CountingJob.class.getName());
        assertThat(run.await(l -> l.startsWith("JOB_FAILED ")))
                .contains("bad arguments: --parallelism must be a positive integer, got '0'");
        assertThat(run.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(run.process.exitValue()).isEqualTo(2);
    }

    @Test
    void optionsAndEvents(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> RunnerOptions.parse(new String[] {"--checkpoint-dir", "/tmp"}))
                .hasMessageStartingWith("--main-class is required without --jar");
        assertThatThrownBy(() -> RunnerOptions.parse(new String[] {"--bogus", "1"}))
                .hasMessageStartingWith("unknown option --bogus");
        Path jar = Files.write(dir.resolve("app.jar"), new byte[0]);
        assertThatThrownBy(() -> RunnerOptions.parse(new String[] {"--jar", jar.toString()}))
                .hasMessageEndingWith("must be on the JVM's -cp too");
        RunnerOptions o = RunnerOptions.parse(
                new String[] {"--main-class", "a.B", "--restore", "file:/c/chk-3", "--", "--x", "y"});
        assertThat(o.applicationArgs).containsExactly("--x", "y");
        assertThat(LocalJobRunner.configuration(o).toMap())
                .containsEntry("execution.state-recovery.path", "file:/c/chk-3")
                .containsEntry("parallelism.default", "1")
                .doesNotContainKey("execution.checkpointing.interval");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Events.redirect(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("reason", "a \"quoted\"\nline\\");
            fields.put("n", 3);
            fields.put("none", null);
            Events.emit("JOB_FAILED", fields);
        } finally {
            Events.redirect(System.out);
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .isEqualTo("JOB_FAILED {\"reason\":\"a \\\"quoted\\\"\\nline\\\\\",\"n\":3,\"none\":null}"
                        + System.lineSeparator());
    }

    private static String group(Pattern pattern, String line) {
        Matcher m = pattern.matcher(line);
        assertThat(m.find()).as("%s in %s", pattern, line).isTrue();
        return m.group(1);
    }

    private Run start(String... args) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-cp",
                classPath,
                LocalJobRunner.class.getName()));
        command.addAll(List.of(args));
        Path stderr = Files.createTempFile("local-runner-", ".stderr");
        stderr.toFile().deleteOnExit();
        Process process =
                new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        processes.add(process);
        return new Run(process, stderr);
    }

    /** A child JVM and the lines of its stdout. */
    private static final class Run {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        volatile boolean ended;
        final List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());

        final Path stderr;

        Run(Process process, Path stderr) {
            this.process = process;
            this.stderr = stderr;
            Thread reader = new Thread(() -> {
                try (BufferedReader r =
                        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        lines.add(line);
                        if (!line.startsWith("VALUE ")) {
                            seen.add(line);
                        }
                    }
                } catch (java.io.IOException e) {
                    lines.add("READ_FAILED " + e);
                } finally {
                    ended = true;
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        /** The next line matching, skipping the others; fails after the timeout. */
        String await(Predicate<String> matching) throws Exception {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                String line = lines.poll(500, TimeUnit.MILLISECONDS);
                if (line != null && matching.test(line)) {
                    return line;
                }
                if (line == null && ended && lines.isEmpty()) {
                    throw new AssertionError("runner exited with " + process.exitValue()
                            + " before the line; stdout without VALUE lines:\n" + String.join("\n", seen)
                            + "\nstderr:\n" + Files.readString(stderr));
                }
            }
            throw new AssertionError("no matching line within " + TIMEOUT);
        }
    }

    static {
        // The child JVMs need the runner and this test's classes: the surefire test classpath has both.
        assertThat(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")))
                .contains(File.pathSeparator);
    }
}
