package org.attnzoo.spark;

import org.apache.spark.SparkContext;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.ModelRuntimeException;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.hub.ModelEntry;
import org.attnzoo.zoo.hub.ModelHub;
import org.attnzoo.zoo.hub.ResolvedModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's half: resolve a model reference to ONNX files (converting into the zoo cache when
 * needed), read how to prepare images for it, and make the files reachable from executors.
 */
final class DriverModels {
    /**
     * Spark conf key: {@code always} ships model files with {@code SparkContext.addFile} even when
     * the job runs in local mode (where executors otherwise read the driver's files in place).
     */
    static final String SHIP_CONF = "spark.attnzoo.ship";

    /** Files already registered with a SparkContext (per application), so each is added once. */
    private static final Map<String, ShippedModel> SHIPPED = new ConcurrentHashMap<>();

    private DriverModels() {
    }

    static ShippedModel resolveAndShip(SparkContext sc, String modelRef, String modelPath, String cacheDir) {
        boolean byName = modelRef != null && !modelRef.isBlank();
        boolean byPath = modelPath != null && !modelPath.isBlank();
        if (byName == byPath) {
            throw new IllegalArgumentException(byName
                    ? "set either model (" + modelRef + ") or modelPath (" + modelPath + "), not both"
                    : "no model: set model (a zoo name such as convit_digits) or modelPath (an ONNX file)");
        }
        Local local = byName ? fromZoo(modelRef.trim(), cacheDir) : fromFile(Path.of(modelPath.trim()));
        boolean ship = !sc.isLocal() || "always".equalsIgnoreCase(sc.getConf().get(SHIP_CONF, ""));
        if (!ship) {
            return ShippedModel.of(local.key, local.description, local.fileNames(), null,
                    local.onnx.toAbsolutePath().getParent().toString(), local.preprocessing, local.labels);
        }
        String appKey = sc.applicationId() + "/" + sc.startTime() + "/" + local.key;
        return SHIPPED.computeIfAbsent(appKey, k -> ship(sc, local));
    }

    /** A model's files on the driver and what executors need besides them. */
    private record Local(String key, String description, Path onnx, List<Path> files, Preprocessing preprocessing, List<String> labels) {
        List<String> fileNames() {
            return files.stream().map(p -> p.getFileName().toString()).toList();
        }
    }

    private static Local fromZoo(String ref, String cacheDir) {
        try {
            ModelHub hub = cacheDir == null || cacheDir.isBlank() ? ModelHub.fromEnv()
                    : ModelHub.builder().cacheRoot(Path.of(cacheDir)).build();
            try (AttnZoo zoo = AttnZoo.of(hub)) {
                ResolvedModel rm = hub.resolve(ref);     // UnknownModelException, with suggestions
                Path onnx = zoo.onnx(ref);               // downloads and converts once, in the cache
                ModelEntry card = rm.model();
                List<Path> files = modelFiles(onnx);
                return new Local(key(files), rm.tag(), onnx, files, AttnZoo.preprocessing(card), AttnZoo.labels(card));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(ref + ": " + e.getMessage(), e);
        }
    }

    private static Local fromFile(Path onnx) {
        if (!Files.isRegularFile(onnx)) throw new ModelRuntimeException(onnx + ": no such model file");
        Map<String, String> meta;
        try (OnnxSession s = OnnxSession.open(onnx, RuntimeOptions.defaults())) {
            meta = s.metadata();
        }
        Preprocessing p = Preprocessing.fromMetadata(meta);
        if (p == null) {
            throw new IllegalArgumentException(onnx + ": the model carries no preprocessing.* metadata "
                    + "(models converted by AttnZoo do); cannot tell how to prepare images for it");
        }
        List<String> labels = List.of();
        String name = meta.get("attnzoo.model");
        if (name != null) {
            try {
                labels = AttnZoo.labels(ModelHub.fromEnv().resolve(name).model());
            } catch (IllegalArgumentException | IOException e) {
                // not in the registry: classes are named by index
            }
        }
        List<Path> files = modelFiles(onnx);
        return new Local(key(files), onnx.getFileName().toString(), onnx, files, p, labels);
    }

    /** The ONNX file and, when present, its external data beside it ({@code <name>.data}, as AttnZoo writes it). */
    static List<Path> modelFiles(Path onnx) {
        List<Path> files = new ArrayList<>();
        files.add(onnx.toAbsolutePath());
        Path data = onnx.toAbsolutePath().resolveSibling(onnx.getFileName() + ".data");
        if (Files.isRegularFile(data)) files.add(data);
        return files;
    }

    private static String key(List<Path> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                md.update((f.toAbsolutePath() + "|" + Files.size(f) + "|" + Files.getLastModifiedTime(f).toMillis() + "\n")
                        .getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 20);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Registers the files with {@code SparkContext.addFile} under names unique to the model
     * ({@code attnzoo-<key>-<name>}); a file of that name is linked (or else copied) into a staging
     * directory first, since Spark names a shipped file by its own name.
     */
    private static ShippedModel ship(SparkContext sc, Local local) {
        try {
            Path staging = Path.of(System.getProperty("java.io.tmpdir"), "attnzoo-spark-" + System.getProperty("user.name", "user"), local.key);
            Files.createDirectories(staging);
            List<String> shipped = new ArrayList<>();
            for (Path f : local.files) {
                String name = "attnzoo-" + local.key + "-" + f.getFileName();
                Path link = staging.resolve(name);
                if (!Files.exists(link)) {
                    Path tmp = staging.resolve("." + name + ".tmp");
                    Files.deleteIfExists(tmp);
                    try {
                        Files.createLink(tmp, f);
                    } catch (IOException | UnsupportedOperationException e) {
                        try {
                            Files.createSymbolicLink(tmp, f);
                        } catch (IOException | UnsupportedOperationException e2) {
                            Files.copy(f, tmp, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                    Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                sc.addFile(link.toString());
                shipped.add(name);
            }
            return ShippedModel.of(local.key, local.description, local.fileNames(), shipped,
                    local.onnx.getParent().toString(), local.preprocessing, local.labels);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage " + local.onnx + " for the executors: " + e.getMessage(), e);
        }
    }
}
