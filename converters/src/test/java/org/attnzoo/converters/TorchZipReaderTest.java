package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.attnzoo.sdk.tensor.TensorData;

@SuppressWarnings("unchecked")
class TorchZipReaderTest {

    @TempDir
    Path tmp;

    @Test
    void readsAPlainStateDict() {
        try (TorchZipReader r = TorchZipReader.open(Fixtures.file("pt_plain.pth"))) {
            assertThat(r.recordPrefix()).isEqualTo("pt_plain/");
            Map<Object, Object> root = (Map<Object, Object>) r.root();
            assertThat(root.keySet()).containsExactly("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                    "1.running_var", "1.num_batches_tracked", "2.weight", "2.bias");
            assertThat(((TensorData) root.get("1.num_batches_tracked")).toLongArray()).containsExactly(7);
        }
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_plain.pth"))) {
            Fixtures.assertMatches(c, "pt_plain.pth");
        }
    }

    @Test
    void viewsHonourOffsetSizeStrideAndSharedStorage() {
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_views.pth"))) {
            Fixtures.assertMatches(c, "pt_views.pth");
            TorchTensor base = (TorchTensor) c.get("base");
            TorchTensor t = (TorchTensor) c.get("t");
            TorchTensor s = (TorchTensor) c.get("s");
            assertThat(t.storage).isSameAs(base.storage);
            assertThat(s.storage).isSameAs(base.storage);
            assertThat(t.isContiguous()).isFalse();
            assertThat(s.storageOffset).isEqualTo(5);
            assertThat(s.stride()).containsExactly(4, 1);
            assertThat(((TorchTensor) c.get("expanded")).stride()).containsExactly(0, 1);
            assertThat(((TorchTensor) c.get("half_t")).storage).isSameAs(((TorchTensor) c.get("half")).storage);
            assertThat(c.get("t").toFloatArray()).containsExactly(0f, 1f, 2f, 0.25f, 1.25f, 2.25f, 0.5f, 1.5f, 2.5f,
                    0.75f, 1.75f, 2.75f);
        }
    }

    @Test
    void nonTensorValuesParseAsPlainJava() {
        try (TorchZipReader r = TorchZipReader.open(Fixtures.file("pt_wrapped.pth"))) {
            Map<Object, Object> root = (Map<Object, Object>) r.root();
            assertThat(root.get("epoch")).isEqualTo(3L);
            Map<Object, Object> opt = (Map<Object, Object>) root.get("optimizer");
            assertThat((List<Object>) opt.get("betas")).containsExactly(0.9, 0.999);
            Map<Object, Object> args = (Map<Object, Object>) root.get("args");
            assertThat(args.get("lr")).isEqualTo(0.1);
            assertThat(args.get("name")).isEqualTo("vit_tiny");
            assertThat((List<Object>) args.get("sizes")).containsExactly(1L, 2L, List.of(3L, 4L));
            assertThat(args.get("flag")).isEqualTo(true);
            assertThat(args.containsKey("none")).isTrue();
            assertThat(args.get("big")).isEqualTo(BigInteger.TWO.pow(70));
            assertThat(args.get("neg")).isEqualTo(-5L);
            assertThat((Set<Object>) args.get("tags")).containsExactlyInAnyOrder("a", "b");
            assertThat((byte[]) args.get("blob")).containsExactly('a', 'b', 0xff);
            assertThat((List<Object>) args.get("shape")).containsExactly(2L, 3L);
            assertThat(args.get("dtype")).isEqualTo("torch.float16");
        }
    }

    @Test
    void refusesOsSystemByName() {
        Path p = Fixtures.file("pt_evil.pth");
        assertThatThrownBy(() -> TorchZipReader.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessage(p + ": pickle refers to global 'posix.system', which a state dict never needs; refusing to load");
        // allowing some unrelated global changes nothing
        assertThatThrownBy(() -> TorchZipReader.open(p, Set.of("argparse.Namespace")))
                .hasMessageContaining("'posix.system'");
    }

    @Test
    void namespaceIsRefusedUnlessAllowedAsOpaqueData() {
        Path p = Fixtures.file("pt_namespace.pth");
        assertThatThrownBy(() -> TorchZipReader.open(p))
                .hasMessage(p + ": pickle refers to global 'argparse.Namespace', which a state dict never needs; refusing to load");
        try (TorchZipReader r = TorchZipReader.open(p, Set.of("argparse.Namespace"))) {
            PickledObject args = (PickledObject) ((Map<Object, Object>) r.root()).get("args");
            assertThat(args.global()).isEqualTo("argparse.Namespace");
            assertThat(args.args()).isEmpty();
            assertThat((Map<Object, Object>) args.state()).containsEntry("lr", 0.1).containsEntry("model", "vit");
        }
    }

    @Test
    void wholePickledModuleIsRefused() {
        Path p = Fixtures.file("pt_whole_module.pth");
        assertThatThrownBy(() -> TorchZipReader.open(p)).hasMessageContaining(p.toString())
                .hasMessageContaining("'torch.nn.modules.linear.Linear'");
    }

    @Test
    void compressedEntriesAndAnotherFolderNameWork() throws IOException {
        Path p = tmp.resolve("deflated.pth");
        rezip(Fixtures.file("pt_views.pth"), p, true, (n, b) -> b, n -> n.replace("pt_views/", "archive/"));
        try (TorchZipReader r = TorchZipReader.open(p)) {
            assertThat(r.recordPrefix()).isEqualTo("archive/");
        }
        try (Checkpoint c = Checkpoints.open(p)) {
            Fixtures.assertMatches(c, "pt_views.pth");
        }
    }

    @Test
    void missingStorageNamesTheTensor() throws IOException {
        Path p = tmp.resolve("missing.pth");
        // storage 6 holds 1.num_batches_tracked
        rezip(Fixtures.file("pt_plain.pth"), p, false, (n, b) -> n.endsWith("/data/6") ? null : b, n -> n);
        assertThatThrownBy(() -> Checkpoints.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessage(p + ": tensor '1.num_batches_tracked': storage entry 'pt_plain/data/6' is missing from the archive");
    }

    @Test
    void shortStorageNamesTheTensor() throws IOException {
        Path p = tmp.resolve("short.pth");
        rezip(Fixtures.file("pt_plain.pth"), p, false,
                (n, b) -> n.endsWith("/data/0") ? Arrays.copyOf(b, b.length - 4) : b, n -> n);
        assertThatThrownBy(() -> Checkpoints.open(p))
                .hasMessage(p + ": tensor '0.weight': storage entry 'pt_plain/data/0' holds 44 bytes, expected 48"
                        + " (12 elements of FloatStorage)");
    }

    @Test
    void truncatedArchive() throws IOException {
        Path p = tmp.resolve("cut.pth");
        byte[] b = Files.readAllBytes(Fixtures.file("pt_plain.pth"));
        Files.write(p, Arrays.copyOf(b, b.length / 2));
        assertThatThrownBy(() -> Checkpoints.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith(p + ": not a readable zip archive");
    }

    @Test
    void zipsThatAreNotCheckpoints() throws IOException {
        Path script = tmp.resolve("script.pt");
        writeZip(script, Map.of("archive/data.pkl", new byte[] {(byte) 0x80, 2, 'N', '.'},
                "archive/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}));
        assertThatThrownBy(() -> TorchZipReader.open(script)).hasMessageContaining("TorchScript archive");

        Path other = tmp.resolve("other.zip");
        writeZip(other, Map.of("readme.txt", new byte[] {'h', 'i'}));
        assertThatThrownBy(() -> TorchZipReader.open(other))
                .hasMessageContaining("without a '<folder>/data.pkl' entry")
                .hasMessageContaining("readme.txt");
    }

    @Test
    void bigEndianArchivesAreRefused() throws IOException {
        Path p = tmp.resolve("be.pth");
        writeZip(p, Map.of("a/data.pkl", new byte[] {(byte) 0x80, 2, '}', '.'}, "a/byteorder", "big".getBytes()));
        assertThatThrownBy(() -> TorchZipReader.open(p)).hasMessageContaining("expected little, got big");
    }

    @Test
    void tensorsStayLazyUntilRead() {
        try (TorchZipReader r = TorchZipReader.open(Fixtures.file("pt_plain.pth"))) {
            TensorData t = (TensorData) ((Map<Object, Object>) r.root()).get("0.weight");
            assertThat(t.shape()).containsExactly(3, 4);
            r.close();
            assertThatThrownBy(t::rawBytes).isInstanceOf(CheckpointException.class).hasMessageContaining("closed");
        }
    }

    // ---- helpers ----

    static void rezip(Path src, Path dst, boolean deflate, BiFunction<String, byte[], byte[]> content,
                      java.util.function.UnaryOperator<String> rename) throws IOException {
        try (ZipFile in = new ZipFile(src.toFile());
             OutputStream fout = Files.newOutputStream(dst); ZipOutputStream out = new ZipOutputStream(fout)) {
            for (ZipEntry e : java.util.Collections.list(in.entries())) {
                byte[] b;
                try (InputStream is = in.getInputStream(e)) {
                    b = content.apply(e.getName(), is.readAllBytes());
                }
                if (b == null) continue;
                putEntry(out, rename.apply(e.getName()), b, deflate);
            }
        }
    }

    static void writeZip(Path dst, Map<String, byte[]> entries) throws IOException {
        try (OutputStream fout = Files.newOutputStream(dst); ZipOutputStream out = new ZipOutputStream(fout)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) putEntry(out, e.getKey(), e.getValue(), false);
        }
    }

    private static void putEntry(ZipOutputStream out, String name, byte[] b, boolean deflate) throws IOException {
        ZipEntry ne = new ZipEntry(name);
        if (!deflate) {
            ne.setMethod(ZipEntry.STORED);
            ne.setSize(b.length);
            CRC32 crc = new CRC32();
            crc.update(b);
            ne.setCrc(crc.getValue());
        }
        out.putNextEntry(ne);
        out.write(b);
        out.closeEntry();
    }
}
