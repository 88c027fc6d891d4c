package io.github.cdkstreamingpatterns.flink.statefun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes exports as files below a directory; written to a temporary name first so readers never see half a file. */
final class FileStateExportWriter implements StateExportWriter {
    private final Path root;

    FileStateExportWriter(Path root) {
        this.root = root;
    }

    @Override
    public void write(String objectKey, byte[] jsonLines) throws IOException {
        Path target = root.resolve(objectKey).normalize();
        if (!target.startsWith(root.normalize())) {
            throw new IOException("export key escapes the export directory: " + objectKey);
        }
        Files.createDirectories(target.getParent());
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.write(temp, jsonLines);
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
