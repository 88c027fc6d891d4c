package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A local AWS look-alike from the repository's node_modules (installed by `npm ci` at the repo root), on 127.0.0.1
 * and a free port, stopped through its own process handle (SIGTERM, then SIGKILL). Missing packages fail the test.
 */
final class LocalNodeServer implements AutoCloseable {
    /** s3rver only knows this key pair; kinesis-local accepts any credentials. */
    static final String ACCESS_KEY = "S3RVER";

    static final String SECRET_KEY = "S3RVER";

    private final Process process;
    private final Path workDir;
    private final Path log;
    final int port;

    private LocalNodeServer(Process process, Path workDir, Path log, int port) {
        this.process = process;
        this.workDir = workDir;
        this.log = log;
        this.port = port;
    }

    String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    /** s3rver: S3 with path-style addressing. */
    static LocalNodeServer s3rver() throws IOException, InterruptedException {
        Path pkg = locatePackage("s3rver", "bin/s3rver.js");
        int port = freePort();
        Path data = Files.createTempDirectory("s3rver-data");
        List<String> cmd = new ArrayList<>();
        cmd.add("node");
        cmd.add(pkg.resolve("bin/s3rver.js").toString());
        cmd.addAll(List.of("-d", data.toString(), "-a", "127.0.0.1", "-p", String.valueOf(port), "--silent"));
        return start(cmd, Map.of(), data, port);
    }

    /** kinesis-local (kinesis-mock): plain HTTP on the returned port. */
    static LocalNodeServer kinesisLocal() throws IOException, InterruptedException {
        Path pkg = locatePackage("kinesis-local", "main.js");
        int port = freePort();
        int tlsPort = freePort();
        Path work = Files.createTempDirectory("kinesis-local");
        return start(
                List.of("node", pkg.resolve("main.js").toString()),
                Map.of(
                        "KINESIS_MOCK_CERT_PATH", pkg.resolve("server.json").toString(),
                        "KINESIS_MOCK_PLAIN_PORT", String.valueOf(port),
                        "KINESIS_MOCK_TLS_PORT", String.valueOf(tlsPort),
                        "LOG_LEVEL", "WARN"),
                work,
                port);
    }

    private static LocalNodeServer start(List<String> cmd, Map<String, String> env, Path workDir, int port)
            throws IOException, InterruptedException {
        Path log = Files.createTempFile("local-server", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        LocalNodeServer server = new LocalNodeServer(pb.start(), workDir, log, port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!server.process.isAlive()) {
                String output = Files.readString(log);
                server.close();
                throw new IOException(cmd + " exited with " + server.process.exitValue() + ": " + output);
            }
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return server;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    String output = Files.readString(log);
                    server.close();
                    throw new IOException(cmd + " did not open port " + port + ": " + output);
                }
                Thread.sleep(50);
            }
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static Path locatePackage(String name, String entry) throws IOException {
        for (Path dir = new File(System.getProperty("user.dir"))
                        .getAbsoluteFile()
                        .toPath();
                dir != null;
                dir = dir.getParent()) {
            Path candidate = dir.resolve("node_modules").resolve(name);
            if (Files.isRegularFile(candidate.resolve(entry))) {
                return candidate;
            }
        }
        throw new IOException("node_modules/" + name + " not found above " + System.getProperty("user.dir")
                + "; run `npm ci` at the repo root");
    }

    @Override
    public void close() throws InterruptedException, IOException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        try (Stream<Path> files = Files.walk(workDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        Files.deleteIfExists(log);
    }
}
