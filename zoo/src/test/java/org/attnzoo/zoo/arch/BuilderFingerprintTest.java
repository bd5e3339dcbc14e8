package org.attnzoo.zoo.arch;

import org.attnzoo.zoo.AttnZoo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The converted-model cache key follows the code that builds the graph, not a hand-kept number. */
class BuilderFingerprintTest {
    @TempDir
    Path tmp;

    @Test
    void oneKeyPerFamilyCodeStableAcrossCalls() {
        String a = BuilderFingerprint.of(Architectures.get("convit_tiny"));
        assertThat(a).matches("[0-9a-f]{16}");
        assertThat(BuilderFingerprint.of(Architectures.get("convit_tiny"))).isEqualTo(a);
        // variants of one family share the family's code
        assertThat(BuilderFingerprint.of(Architectures.get("convit_small"))).isEqualTo(a);
        // another family's code gives another key
        assertThat(BuilderFingerprint.of(Architectures.get("nat_mini"))).isNotEqualTo(a);
        assertThat(AttnZoo.convertedKey("convit_tiny.fb_in1k", Architectures.get("convit_tiny")).converterVersion()).isEqualTo(a);
    }

    @Test
    void changingAFamilysCompiledGraphCodeChangesItsKey() throws Exception {
        // a copy of the NAT family's classes; then one class changed, as a commit that changes its graph would
        Path root = BuilderFingerprint.codeRoot(org.attnzoo.zoo.family.nat.NAT.class);
        String pkg = "org.attnzoo.zoo.family.nat";
        Path src = root.resolve(pkg.replace('.', '/'));
        Path copy = tmp.resolve("classes");
        Path dst = copy.resolve(pkg.replace('.', '/'));
        Files.createDirectories(dst);
        List<Path> classes;
        try (Stream<Path> s = Files.list(src)) {
            classes = s.filter(p -> p.toString().endsWith(".class")).sorted().toList();
        }
        for (Path c : classes) Files.copy(c, dst.resolve(c.getFileName()));
        String before = BuilderFingerprint.packageDigest(copy, pkg);
        assertThat(before).isEqualTo(BuilderFingerprint.packageDigest(root, pkg));

        Path victim = dst.resolve("NaLayers.class");
        byte[] b = Files.readAllBytes(victim);
        b[b.length - 1] ^= 1;
        Files.write(victim, b);
        assertThat(BuilderFingerprint.packageDigest(copy, pkg)).isNotEqualTo(before);

        // a new class in the family changes it too
        Files.write(victim, Files.readAllBytes(src.resolve("NaLayers.class")));
        assertThat(BuilderFingerprint.packageDigest(copy, pkg)).isEqualTo(before);
        Files.write(dst.resolve("Extra.class"), new byte[]{1, 2, 3});
        assertThat(BuilderFingerprint.packageDigest(copy, pkg)).isNotEqualTo(before);
    }

    @Test
    void readsClassesFromAJarAsFromADirectory() throws Exception {
        Path root = BuilderFingerprint.codeRoot(org.attnzoo.zoo.family.nat.NAT.class);
        String pkg = "org.attnzoo.zoo.family.nat";
        Path jar = tmp.resolve("nat.jar");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar)); Stream<Path> s = Files.walk(root.resolve(pkg.replace('.', '/')))) {
            for (Path p : (Iterable<Path>) s.filter(f -> f.toString().endsWith(".class")).sorted()::iterator) {
                out.putNextEntry(new java.util.jar.JarEntry(root.relativize(p).toString().replace('\\', '/')));
                out.write(Files.readAllBytes(p));
                out.closeEntry();
            }
        }
        assertThat(BuilderFingerprint.packageDigest(jar, pkg)).isEqualTo(BuilderFingerprint.packageDigest(root, pkg));
    }
}
