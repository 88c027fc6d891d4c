package io.github.cdkstreamingpatterns.flink.local;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/** The command line of {@link LocalJobRunner}. */
final class RunnerOptions {
    static final String USAGE = "usage: LocalJobRunner [--jar <application jar>] [--main-class <fqcn>]"
            + " [--properties <file>] [--checkpoint-dir <dir>] [--checkpoint-interval-ms <n>] [--restore <path>]"
            + " [--parallelism <n>] [--restart-attempts <n>] [--report-interval-ms <n>] [--cancel-timeout-ms <n>]"
            + " [--exit-on-stdin-eof true|false]"
            + " [-- <application args>]";

    String mainClass;
    Path jar;
    Path properties;
    Path checkpointDir;
    Long checkpointIntervalMs;
    String restore;
    int parallelism = 1;
    int restartAttempts = 3;
    long reportIntervalMs = 250;
    long cancelTimeoutMs = 10_000;
    boolean exitOnStdinEof;
    List<String> applicationArgs = new ArrayList<>();

    static RunnerOptions parse(String[] args) throws IOException {
        RunnerOptions o = new RunnerOptions();
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if ("--".equals(flag)) {
                o.applicationArgs.addAll(Arrays.asList(args).subList(i + 1, args.length));
                break;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value; " + USAGE);
            }
            String value = args[++i];
            switch (flag) {
                case "--main-class":
                    o.mainClass = value;
                    break;
                case "--jar":
                    o.jar = Path.of(value).toAbsolutePath();
                    break;
                case "--properties":
                    o.properties = Path.of(value).toAbsolutePath();
                    break;
                case "--checkpoint-dir":
                    o.checkpointDir = Path.of(value).toAbsolutePath();
                    break;
                case "--checkpoint-interval-ms":
                    o.checkpointIntervalMs = positive(flag, value);
                    break;
                case "--restore":
                    o.restore = value;
                    break;
                case "--parallelism":
                    o.parallelism = (int) positive(flag, value);
                    break;
                case "--restart-attempts":
                    o.restartAttempts = Integer.parseInt(value);
                    break;
                case "--report-interval-ms":
                    o.reportIntervalMs = positive(flag, value);
                    break;
                case "--cancel-timeout-ms":
                    o.cancelTimeoutMs = positive(flag, value);
                    break;
                case "--exit-on-stdin-eof":
                    o.exitOnStdinEof = Boolean.parseBoolean(value);
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + flag + "; " + USAGE);
            }
        }
        if (o.properties != null && !Files.isRegularFile(o.properties)) {
            throw new IllegalArgumentException("--properties " + o.properties + " is not a file");
        }
        if (o.jar != null) {
            if (!Files.isRegularFile(o.jar)) {
                throw new IllegalArgumentException("--jar " + o.jar + " is not a file");
            }
            if (!onClassPath(o.jar)) {
                throw new IllegalArgumentException("--jar " + o.jar + " must be on the JVM's -cp too");
            }
            if (o.mainClass == null) {
                o.mainClass = manifestMainClass(o.jar);
            }
        }
        if (o.mainClass == null) {
            throw new IllegalArgumentException("--main-class is required without --jar; " + USAGE);
        }
        return o;
    }

    private static long positive(String flag, String value) {
        long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be a positive integer, got '" + value + "'", e);
        }
        if (n <= 0) {
            throw new IllegalArgumentException(flag + " must be a positive integer, got '" + value + "'");
        }
        return n;
    }

    private static boolean onClassPath(Path jar) throws IOException {
        for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            if (!entry.isEmpty() && Files.exists(Path.of(entry)) && Files.isSameFile(Path.of(entry), jar)) {
                return true;
            }
        }
        return false;
    }

    private static String manifestMainClass(Path jar) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String main = manifest == null ? null : manifest.getMainAttributes().getValue("Main-Class");
            if (main == null || main.isBlank()) {
                throw new IllegalArgumentException(jar + " has no Main-Class in its manifest: pass --main-class");
            }
            return main.trim();
        }
    }
}
