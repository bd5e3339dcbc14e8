package org.attnzoo.zoo.arch;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The converter version of a converted model, derived from what determines the graph the builder
 * emits for an architecture: the compiled classes of the graph builder and layer library
 * ({@code org.attnzoo.sdk}), the checkpoint readers ({@code org.attnzoo.converters}), the model
 * builder ({@code org.attnzoo.zoo.arch}, less the name table) and the architecture's own family
 * package. A change to any of them gives a new key, so a cache never serves a model that older code
 * built; a change elsewhere (the CLI, the hub, another family) keeps the key.
 */
public final class BuilderFingerprint {
    private static final Map<String, String> PACKAGE_DIGESTS = new ConcurrentHashMap<>();

    private BuilderFingerprint() {
    }

    /** 16 hex digits naming the builder code of {@code arch}'s family. */
    public static String of(Architecture arch) {
        List<String> packages = List.of("org.attnzoo.sdk", "org.attnzoo.converters", "org.attnzoo.zoo.arch", arch.getClass().getPackageName());
        Class<?>[] anchors = {org.attnzoo.sdk.graph.Graph.class, org.attnzoo.converters.Checkpoints.class, BuilderFingerprint.class, arch.getClass()};
        MessageDigest md = sha256();
        for (int i = 0; i < packages.size(); i++) {
            String pkg = packages.get(i);
            Class<?> anchor = anchors[i];
            String d = PACKAGE_DIGESTS.computeIfAbsent(pkg, p -> packageDigest(codeRoot(anchor), p));
            md.update((pkg + "=" + d + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    /**
     * The digest of every class file of {@code pkg} and its subpackages under {@code root} (a class
     * directory or a jar), by name and content; the name table {@code Architectures} is left out.
     */
    static String packageDigest(Path root, String pkg) {
        String prefix = pkg.replace('.', '/') + "/";
        Map<String, byte[]> classes = new TreeMap<>();
        try {
            if (Files.isDirectory(root)) {
                Path dir = root.resolve(prefix);
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> s = Files.walk(dir)) {
                        for (Path p : (Iterable<Path>) s.filter(f -> f.toString().endsWith(".class"))::iterator) {
                            classes.put(root.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                        }
                    }
                }
            } else {
                try (JarFile jar = new JarFile(root.toFile())) {
                    for (JarEntry e : (Iterable<JarEntry>) jar.stream()::iterator) {
                        if (e.getName().startsWith(prefix) && e.getName().endsWith(".class")) {
                            try (InputStream in = jar.getInputStream(e)) {
                                classes.put(e.getName(), in.readAllBytes());
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("builder fingerprint: cannot read the classes of " + pkg + " in " + root, e);
        }
        classes.keySet().removeIf(n -> n.startsWith("org/attnzoo/zoo/arch/Architectures") || n.startsWith("org/attnzoo/zoo/arch/FamilyParity")
                || n.startsWith("org/attnzoo/zoo/arch/ArchitectureProvider"));
        if (classes.isEmpty()) throw new IllegalStateException("builder fingerprint: no classes of " + pkg + " in " + root);
        MessageDigest md = sha256();
        List<String> names = new ArrayList<>(classes.keySet());
        for (String n : names) {
            md.update(n.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(classes.get(n));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static Path codeRoot(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("builder fingerprint: cannot locate the classes of " + c.getName(), e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
