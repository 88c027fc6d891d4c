package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A local S3 server (the npm package s3rver from the repository's node_modules) on 127.0.0.1 and a free port,
 * stopped by its own process handle (SIGTERM, then SIGKILL).
 */
final class S3rverProcess implements AutoCloseable {
  static final String ACCESS_KEY = "S3RVER";
  static final String SECRET_KEY = "S3RVER";

  private final Process process;
  private final Path dataDir;
  private final Path log;
  final int port;

  private S3rverProcess(Process process, Path dataDir, Path log, int port) {
    this.process = process;
    this.dataDir = dataDir;
    this.log = log;
    this.port = port;
  }

  String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  static S3rverProcess start() throws IOException, InterruptedException {
    Path script = locateScript();
    int port;
    try (ServerSocket s = new ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path dataDir = Files.createTempDirectory("s3rver-data");
    Path log = Files.createTempFile("s3rver", ".log");
    Process p =
        new ProcessBuilder(
                "node", script.toString(), "-d", dataDir.toString(), "-a", "127.0.0.1", "-p", String.valueOf(port))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    S3rverProcess server = new S3rverProcess(p, dataDir, log, port);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      if (!p.isAlive()) {
        String output = Files.readString(log);
        server.close();
        throw new IOException("s3rver exited with " + p.exitValue() + ": " + output);
      }
      try (Socket probe = new Socket()) {
        probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return server;
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) {
          server.close();
          throw new IOException("s3rver did not open port " + port + ": " + Files.readString(log));
        }
        Thread.sleep(50);
      }
    }
  }

  /** node_modules/s3rver is installed by `npm ci` at the repository root, two levels above this module. */
  private static Path locateScript() throws IOException {
    for (Path dir = new File(System.getProperty("user.dir")).getAbsoluteFile().toPath();
        dir != null;
        dir = dir.getParent()) {
      Path candidate = dir.resolve("node_modules/s3rver/bin/s3rver.js");
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new IOException(
        "node_modules/s3rver not found above " + System.getProperty("user.dir") + "; run `npm ci` at the repo root");
  }

  @Override
  public void close() throws InterruptedException, IOException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
    Files.deleteIfExists(log);
  }
}
