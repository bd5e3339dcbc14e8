package org.attnzoo.spark;

import org.apache.spark.SparkFiles;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.zoo.image.ImagePreprocessor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The executor's half: one ONNX Runtime session per model and device in each executor JVM, opened
 * by the first task that needs it and shared by all later tasks (sessions are thread-safe), kept
 * until the JVM exits.
 */
final class ExecutorModels {
    /** A model opened in this JVM. */
    record Opened(OnnxSession session, ImagePreprocessor preprocessor, ShippedModel model) {
    }

    private static final Map<String, Opened> OPEN = new ConcurrentHashMap<>();

    private ExecutorModels() {
    }

    static Opened get(ShippedModel m, String device, int intraOpThreads) {
        String k = m.key() + "|" + device + "|" + intraOpThreads;
        Opened o = OPEN.get(k);
        if (o != null) return o;
        synchronized (ExecutorModels.class) {   // one open at a time: a large model's weights are loaded once
            return OPEN.computeIfAbsent(k, x -> open(m, device, intraOpThreads));
        }
    }

    /** How many sessions this JVM holds (for tests). */
    static int openSessions() {
        return OPEN.size();
    }

    private static Opened open(ShippedModel m, String device, int intraOpThreads) {
        Path onnx = localFiles(m);
        RuntimeOptions ro = RuntimeOptions.defaults().withDevice(Device.parse(device));
        if (intraOpThreads > 0) ro = ro.withThreads(intraOpThreads);
        OnnxSession s = OnnxSession.open(onnx, ro);
        return new Opened(s, new ImagePreprocessor(m.preprocessing()), m);
    }

    /**
     * The model's ONNX file on this machine. Shipped files are fetched by Spark under their unique
     * names; they are linked back to their own names in one directory, where ONNX Runtime finds
     * the external data the model names relative to itself.
     */
    private static Path localFiles(ShippedModel m) {
        if (m.shippedNames() == null) return Path.of(m.localDir(), m.fileNames().get(0));
        try {
            Path dir = Path.of(SparkFiles.getRootDirectory(), "attnzoo-" + m.key());
            Files.createDirectories(dir);
            List<String> names = m.fileNames();
            for (int i = 0; i < names.size(); i++) {
                Path target = dir.resolve(names.get(i));
                if (Files.exists(target)) continue;
                Path fetched = Path.of(SparkFiles.get(m.shippedNames().get(i)));
                if (!Files.isRegularFile(fetched)) {
                    throw new IOException(fetched + ": not fetched by Spark (was it added with SparkContext.addFile?)");
                }
                Path tmp = dir.resolve("." + names.get(i) + ".tmp");
                Files.deleteIfExists(tmp);
                try {
                    Files.createSymbolicLink(tmp, fetched.toAbsolutePath());
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(fetched, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            return dir.resolve(names.get(0));
        } catch (IOException e) {
            throw new UncheckedIOException(m.description() + ": cannot place the shipped model files: " + e.getMessage(), e);
        }
    }
}
