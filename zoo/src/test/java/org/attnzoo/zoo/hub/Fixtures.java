package org.attnzoo.zoo.hub;

import org.attnzoo.sdk.model.Preprocessing;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/** Small builders shared by the hub tests. */
final class Fixtures {

    private Fixtures() {
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] data) {
        return Hashing.hex(Hashing.sha256().digest(data));
    }

    static Preprocessing imagenet224() {
        return Preprocessing.imagenet(224, 0.875, "bicubic");
    }

    /** A file with plain URL sources (identical bytes at each). */
    static WeightFile file(String name, String sha, Long size, URI... urls) {
        return new WeightFile(name, Arrays.stream(urls).map(u -> WeightSource.of(u.toString())).toList(), sha, size,
                WeightFormat.SAFETENSORS, null);
    }

    static ModelEntry entry(String name, String shortTag, WeightFile... files) {
        return new ModelEntry(name, "testfam", "t", new Paper("A paper", URI.create("https://arxiv.org/abs/0000.00000")),
                "apache-2.0", 50.0, new Parity(ParityStatus.UNVERIFIED, null), imagenet224(), "imagenet-1k",
                List.of(new WeightVersion(name + "." + shortTag, "apache-2.0", List.of(files))));
    }

    static Registry registry(ModelEntry... entries) {
        return Registry.of(List.of(entries), "test registry");
    }

    /** All regular files under {@code dir} (relative, sorted), excluding lock files. */
    static List<String> filesUnder(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.startsWith("locks/")).sorted().forEach(out::add);
        }
        return out;
    }

    /** A listener that records everything. */
    static final class Recorder implements ProgressListener {
        final List<String> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile long lastDone = -1;
        volatile long lastTotal = -2;

        @Override
        public void onStart(String label, long bytesDone, long totalBytes) {
            events.add("start " + label + " " + bytesDone + "/" + totalBytes);
        }

        @Override
        public void onProgress(long bytesDone, long totalBytes) {
            lastDone = bytesDone;
            lastTotal = totalBytes;
        }

        @Override
        public void onFinish(boolean success) {
            events.add("finish " + success);
        }

        @Override
        public void onMessage(String message) {
            messages.add(message);
        }

        boolean saw(String fragment) {
            return messages.stream().anyMatch(m -> m.contains(fragment));
        }
    }
}
