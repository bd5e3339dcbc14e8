package org.attnzoo.zoo.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The converted-model slots of a {@link ModelCache}:
 * {@code converted/<tag>/<converter version>/<slot>/model.onnx}, written atomically (a temporary
 * directory renamed into place) under a per-key lock, so concurrent threads and processes convert a
 * key once and readers never see a half-written model. The blobs, the index and the maintenance
 * verbs stay in ModelCache.
 */
final class ConvertedStore {
    private final Path root;
    private final Function<String, Path> lockPath;

    ConvertedStore(Path root, Function<String, Path> lockPath) {
        this.root = root;
        this.lockPath = lockPath;
    }

    /** Where the converted model for {@code key} lives (whether or not it exists). */
    Path path(ConvertedKey key) {
        return dir(key).resolve(ModelCache.CONVERTED_FILE);
    }

    /** The converted model for {@code key} if it is present. */
    Optional<Path> find(ConvertedKey key) {
        Path p = path(key);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /**
     * Stores a converted model atomically: {@code writer} writes into a fresh temporary directory,
     * which is then renamed into place, so readers never see a half-written model. Replaces an
     * existing one.
     *
     * @return the final {@code model.onnx} path
     */
    Path put(ConvertedKey key, ModelCache.ConvertedWriter writer) throws IOException {
        try (CacheLock l = lock(key)) {
            return putLocked(key, writer);
        }
    }

    /**
     * Returns the converted model for {@code key}, running {@code writer} first if it is not
     * cached. Concurrent callers (threads or processes) for the same key convert only once.
     */
    Path getOrCreate(ConvertedKey key, ModelCache.ConvertedWriter writer) throws IOException {
        Optional<Path> have = find(key);
        if (have.isPresent()) {
            return have.get();
        }
        try (CacheLock l = lock(key)) {
            have = find(key);
            return have.isPresent() ? have.get() : putLocked(key, writer);
        }
    }

    private Path putLocked(ConvertedKey key, ModelCache.ConvertedWriter writer) throws IOException {
        Path dir = dir(key);
        Path parent = dir.getParent();
        Files.createDirectories(parent);
        String lockKey = lockKey(key);
        Path tmp = parent.resolve(".tmp-" + lockKey + "-" + ModelCache.uniq());
        Path old = null;
        boolean done = false;
        try {
            Files.createDirectory(tmp);
            Path onnx = tmp.resolve(ModelCache.CONVERTED_FILE);
            writer.write(onnx);
            if (!Files.isRegularFile(onnx)) {
                throw new IOException("converter wrote nothing to " + onnx);
            }
            try (FileChannel ch = FileChannel.open(onnx, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            if (Files.exists(dir)) {
                old = parent.resolve(".old-" + lockKey + "-" + ModelCache.uniq());
                ModelCache.move(dir, old);
            }
            try {
                ModelCache.move(tmp, dir);
            } catch (IOException e) {
                if (old != null) {
                    ModelCache.move(old, dir);
                    old = null;
                }
                throw e;
            }
            done = true;
            return dir.resolve(ModelCache.CONVERTED_FILE);
        } finally {
            if (!done) {
                ModelCache.deleteTree(tmp);
            }
            if (old != null) {
                ModelCache.deleteTree(old);
            }
        }
    }

    List<ConvertedModel> list(String tag) throws IOException {
        List<ConvertedModel> out = new ArrayList<>();
        Path tagDir = root.resolve(tag);
        for (String cv : ModelCache.childDirs(tagDir)) {
            for (String slot : ModelCache.childDirs(tagDir.resolve(cv))) {
                if (slot.startsWith(".")) {
                    continue;
                }
                ConvertedKey key = ConvertedKey.parse(tag, cv, slot);
                Path file = tagDir.resolve(cv).resolve(slot).resolve(ModelCache.CONVERTED_FILE);
                if (key != null && Files.isRegularFile(file)) {
                    out.add(new ConvertedModel(key, file, ModelCache.treeSize(file.getParent())));
                }
            }
        }
        out.sort(Comparator.comparing(c -> c.key().toString()));
        return out;
    }

    private Path dir(ConvertedKey key) {
        return root.resolve(key.tag()).resolve(key.converterVersion()).resolve(key.slotName());
    }

    private CacheLock lock(ConvertedKey key) throws IOException {
        return CacheLock.acquire(lockPath.apply(lockKey(key)), Duration.ofHours(2), "converting " + key, m -> { });
    }

    static String lockKey(ConvertedKey key) {
        return "conv" + Hashing.sha256Hex(key.toString()).substring(0, 24);
    }
}
