package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-made hostile checkpoints. Each must be refused with one clear line naming the file and what
 * is wrong, quickly, within the 256 MB heap this class runs with (the {@code hostile-256m} surefire
 * execution), executing nothing and writing nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConvertersHostileTest {

    @TempDir
    Path dir;

    // ------------------------------------------------------------------ safetensors

    private Path safetensors(String name, String header, int dataBytes) throws IOException {
        return safetensors(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private Path safetensors(String name, long headerLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> refused(Path p, Runnable r) {
        return assertThatThrownBy(r::run).isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith(p.toString() + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void safetensorsHeaderLengthOfTwoToThe63() throws IOException {
        Path p = safetensors("len63.safetensors", Long.MIN_VALUE, "{}", 0);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("header length 9223372036854775808 runs past the end of the file");
    }

    @Test
    void safetensorsHeaderLengthPastTheFile() throws IOException {
        Path p = safetensors("lenbig.safetensors", 1L << 40, "{}", 0);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("header length 1099511627776 runs past the end");
    }

    @Test
    void safetensorsOffsetsPastTheEnd() throws IOException {
        Path p = safetensors("past.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[0,4000]}}", 16);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("tensor 'w'")
                .hasMessageContaining("run past the end of the file");
    }

    @Test
    void safetensorsOverlappingTensors() throws IOException {
        Path p = safetensors("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("tensor 'b'").hasMessageContaining("overlap tensor 'a'");
    }

    @Test
    void safetensorsShapeWhoseElementCountOverflows() throws IOException {
        Path p = safetensors("numel.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", 16);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("tensor 'w'")
                .hasMessageContaining("more elements than fit in 64 bits");
    }

    @Test
    void safetensorsDtypeTimesShapeOverflows() throws IOException {
        // 2^62 elements fit in a long, 2^62 x 4 bytes do not
        Path p = safetensors("bytes.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,16]}}", 16);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("tensor 'w'").hasMessageContaining("is too large");
    }

    @Test
    void safetensorsHeaderNestedDeeply() throws IOException {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        Path p = safetensors("deep.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":" + deep + ",\"data_offsets\":[0,0]}}", 0);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("header is not valid JSON");
    }

    // ------------------------------------------------------------------ pickles inside torch.save archives

    private Path torchZip(String name, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle);
        entries.put("archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        Path p = dir.resolve(name);
        TorchZipReaderTest.writeZip(p, entries);
        return p;
    }

    @Test
    void pickleOfDictsNested100000Deep() throws IOException {
        int n = 100_000;
        for (String key : new String[]{"a", "model"}) {
            Pickles pk = new Pickles();
            for (int i = 0; i < n; i++) {
                pk.emptyDict();
                if (i < n - 1) pk.str(key);
            }
            for (int i = 0; i < n - 1; i++) pk.setItem();
            Path p = torchZip("deep_" + key + ".pth", pk.stop().bytes(), Map.of());
            refused(p, () -> Checkpoints.open(p)).hasMessageContaining("dicts nested more than 100 deep");
        }
    }

    @Test
    void pickleOfListsNested100000DeepIsJustData() throws IOException {
        // a deep list is harmless data: nothing recurses into it, the state dict beside it loads
        int n = 100_000;
        Pickles pk = new Pickles().emptyDict().str("junk");
        for (int i = 0; i < n; i++) pk.op(']');
        for (int i = 0; i < n - 1; i++) pk.op('a');
        pk.setItem().str("w").tensor("FloatStorage", "0", 4, new long[]{4}, new long[]{1}).setItem();
        Path p = torchZip("deeplist.pth", pk.stop().bytes(), Map.of("0", new byte[16]));
        try (Checkpoint c = Checkpoints.open(p)) {
            assertThat(c.keys()).containsExactly("w");
            assertThat(c.ignored()).containsEntry("junk", "list of 1 items");
            assertThat(c.get("w").toFloatArray()).containsExactly(0f, 0f, 0f, 0f);
        }
    }

    @Test
    void pickleWithATupleKeyNested100000Deep() throws IOException {
        int n = 100_000;
        Pickles pk = new Pickles().emptyDict().integer(1);
        for (int i = 0; i < n; i++) pk.op(0x85); // TUPLE1
        pk.integer(2).setItem();
        Path p = torchZip("deepkey.pth", pk.stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("corrupt pickle: a dict key or set member is a tuple nested more than 16 deep");
    }

    @Test
    void pickleWithASelfContainingListAsADictKey() throws IOException {
        // l = []; l.append(l); {l: 1}: hashing it would recurse forever
        Pickles pk = new Pickles().emptyDict().op(']').binput(1).binget(1).op('a').integer(1).setItem();
        Path p = torchZip("selfkey.pth", pk.stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("a dict key or set member is an unhashable list");
    }

    @Test
    void pickleAskingForATerabyteStorage() throws IOException {
        long numel = (1L << 40) / 4; // 1 TiB of float32
        Pickles pk = new Pickles().emptyDict().str("w").tensor("FloatStorage", "0", numel, new long[]{4}, new long[]{1})
                .setItem();
        Path p = torchZip("tera.pth", pk.stop().bytes(), Map.of("0", new byte[16]));
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("tensor 'w'")
                .hasMessageContaining("holds 16 bytes, expected 1099511627776");
    }

    @Test
    void pickleWithATensorWhoseSizeOverflows() throws IOException {
        Pickles pk = new Pickles().emptyDict().str("w")
                .tensor("FloatStorage", "0", 4, new long[]{1L << 32, 1L << 32}, new long[]{0, 0}).setItem();
        Path p = torchZip("sizeoverflow.pth", pk.stop().bytes(), Map.of("0", new byte[16]));
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("more elements than fit in 64 bits");
    }

    @Test
    void pickleWithAStorageWhoseByteCountOverflows() throws IOException {
        Pickles pk = new Pickles().emptyDict().str("w")
                .tensor("DoubleStorage", "0", 1L << 61, new long[]{2}, new long[]{1}).setItem();
        Path p = torchZip("bytesoverflow.pth", pk.stop().bytes(), Map.of("0", new byte[16]));
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("more bytes than fit in 64 bits");
    }

    @Test
    void stackGlobalRefusedByName() throws IOException {
        Pickles pk = new Pickles().stackGlobal("os", "system").str("echo pwned").op(0x85).reduce();
        Path p = torchZip("stackglobal.pth", pk.stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("pickle refers to global 'os.system'");
    }

    @Test
    void stackGlobalThroughMemoIndirection() throws IOException {
        // the module and name are memoised first, then fetched back by BINGET: still refused by name
        Pickles pk = new Pickles().str("posix").binput(3).op('0').str("system").binput(7).op('0')
                .binget(3).binget(7).op(0x93).str("id").op(0x85).reduce();
        Path p = torchZip("memo.pth", pk.stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("pickle refers to global 'posix.system'");
    }

    @Test
    void stackGlobalHidingANameBehindAnAllowedPrefix() throws IOException {
        Pickles pk = new Pickles().stackGlobal("torch._utils", "_rebuild_tensor_v2\nbuiltins.eval");
        Path p = torchZip("prefix.pth", pk.stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p))
                .hasMessageContaining("pickle refers to global 'torch._utils._rebuild_tensor_v2 builtins.eval'");
    }

    @Test
    void stackGlobalOfAPython2AliasAndOfNonStrings() throws IOException {
        Path p = torchZip("alias.pth", new Pickles().global("__builtin__", "eval").stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("pickle refers to global '__builtin__.eval'");
        Path q = torchZip("ints.pth", new Pickles().integer(1).integer(2).op(0x93).stop().bytes(), Map.of());
        refused(q, () -> Checkpoints.open(q)).hasMessageContaining("STACK_GLOBAL needs two strings");
    }

    @Test
    void allowedGlobalsWithHostileArguments() throws IOException {
        // _codecs.encode is allowed only for latin1 byte strings; rot13 (or anything else) is refused
        Pickles pk = new Pickles().global("_codecs", "encode").mark().str("x").str("rot13").tuple().reduce();
        Path p = torchZip("codecs.pth", pk.stop().bytes(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("unexpected arguments to _codecs.encode");
        // BUILD on a class marker would set attributes on it: refused
        Pickles pk2 = new Pickles().global("torch", "Tensor").emptyDict().op('b');
        Path q = torchZip("build.pth", pk2.stop().bytes(), Map.of());
        refused(q, () -> Checkpoints.open(q)).hasMessageContaining("BUILD on torch.Tensor is not supported");
    }

    @Test
    void hugeIntegersAreRefusedNotParsed() throws IOException {
        byte[] digits = "9".repeat(5_000_000).getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write('L');
        b.writeBytes(digits);
        b.writeBytes("L\n.".getBytes(StandardCharsets.US_ASCII));
        Path p = torchZip("bigint.pth", b.toByteArray(), Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("integer of 5000000 digits");
    }

    @Test
    void picklesThatBuildTooManyValues() throws IOException {
        // 3 million EMPTY_DICT opcodes: 3 MB of pickle that would become gigabytes of maps
        byte[] b = new byte[3_000_002];
        java.util.Arrays.fill(b, (byte) '}');
        b[b.length - 1] = '.';
        Path p = torchZip("values.pth", b, Map.of());
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("builds more than 2000000 values");
    }

    // ------------------------------------------------------------------ zip archives

    @Test
    void zipBombPickleRefusedByItsDeclaredSize() throws IOException {
        Path p = dir.resolve("bomb.pth");
        try (OutputStream f = Files.newOutputStream(p); ZipOutputStream z = new ZipOutputStream(f)) {
            z.setLevel(Deflater.BEST_SPEED);
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 100; i++) z.write(zeros); // 100 MiB inflated, ~100 KiB on disk
            z.closeEntry();
        }
        assertThat(Files.size(p)).isLessThan(1 << 20);
        refused(p, () -> Checkpoints.open(p)).hasMessageContaining("entry 'archive/data.pkl' is too large")
                .hasMessageContaining("expected at most 67108864 bytes, got 104857600 bytes");
    }

    @Test
    void zipBombLyingAboutItsSizeStopsAtTheDeclaredSize() throws IOException {
        Path p = dir.resolve("liar.pth");
        byte[] pickle = new Pickles().emptyDict().stop().bytes();
        byte[] inflated = new byte[8 << 20];
        System.arraycopy(pickle, 0, inflated, 0, pickle.length);
        try (OutputStream f = Files.newOutputStream(p); ZipOutputStream z = new ZipOutputStream(f)) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(inflated);
            z.closeEntry();
        }
        // the central directory now claims the entry inflates to 1000 bytes
        byte[] zip = Files.readAllBytes(p);
        int cen = lastIndexOf(zip, new byte[]{'P', 'K', 1, 2});
        ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN).putInt(cen + 24, 1000);
        Files.write(p, zip);
        refused(p, () -> Checkpoints.open(p))
                .hasMessageContaining("entry 'archive/data.pkl' inflates past its declared size of 1000 bytes (a zip bomb?)");
    }

    @Test
    void zipEntriesClimbingOutOfTheArchive() throws IOException {
        for (String evil : new String[]{"../../evil/data.pkl", "archive/../../x", "/etc/passwd", "C:/x/data.pkl",
                "archive\\..\\x"}) {
            Map<String, byte[]> entries = new LinkedHashMap<>();
            entries.put("archive/data.pkl", new Pickles().emptyDict().stop().bytes());
            entries.put(evil, new byte[]{1});
            Path p = dir.resolve("slip.pth");
            TorchZipReaderTest.writeZip(p, entries);
            refused(p, () -> Checkpoints.open(p)).hasMessageContaining("zip entry '" + evil + "'");
        }
    }

    @Test
    void aStorageThatFailsMidConversionLeavesNoOutputFile() throws IOException {
        // the storage entry's directory record claims 16 bytes (what the tensor needs) but it holds 8:
        // the archive opens, the failure comes when the bytes are read while writing the output
        Pickles pk = new Pickles().emptyDict().str("w").tensor("FloatStorage", "0", 4, new long[]{4}, new long[]{1})
                .setItem();
        Path p = torchZip("short.pth", pk.stop().bytes(), Map.of("0", new byte[8]));
        byte[] zip = Files.readAllBytes(p);
        ByteBuffer bb = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        int cen = lastIndexOf(zip, "PK\1\2".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(new String(zip, cen + 46, bb.getShort(cen + 28), StandardCharsets.UTF_8)).isEqualTo("archive/data/0");
        bb.putInt(cen + 24, 16);
        Files.write(p, zip);
        Path out = dir.resolve("out").resolve("converted.safetensors");
        Files.createDirectories(out.getParent());
        try (Checkpoint c = Checkpoints.open(p)) {
            assertThatThrownBy(() -> SafetensorsWriter.write(out, c)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(p.toString()).hasMessageContaining("tensor 'w'");
        }
        try (Stream<Path> s = Files.list(out.getParent())) {
            assertThat(s).as("no partial or temporary file left").isEmpty();
        }
    }

    private static int lastIndexOf(byte[] hay, byte[] needle) {
        for (int i = hay.length - needle.length; i >= 0; i--) {
            boolean ok = true;
            for (int j = 0; j < needle.length && ok; j++) ok = hay[i + j] == needle[j];
            if (ok) return i;
        }
        throw new AssertionError("not found");
    }
}
