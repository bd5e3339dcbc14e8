package org.attnzoo.converters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import com.code_intelligence.jazzer.junit.FuzzTest;

import org.attnzoo.sdk.tensor.DType;

/**
 * Coverage-guided fuzzing of {@link RestrictedUnpickler} with the checkpoint allow-list: the input
 * is a pickle (the {@code data.pkl} of a torch.save archive). It is first interpreted on its own;
 * when that succeeds, it is packed into a well-formed archive together with storages of the sizes
 * its persistent ids declare (up to 1 MiB in all), and the archive is opened with
 * {@link Checkpoints#open} and every tensor read, so that unwrapping, flattening and view checks
 * see the unpickled structures too. Seeds: the {@code data.pkl} of every {@code .pth} fixture and
 * the {@code values_p*.pkl} pickles, in {@code RestrictedUnpicklerFuzzTestInputs/fuzz/}.
 */
class RestrictedUnpicklerFuzzTest {
    private static final long MAX_STORAGE_BYTES = 1 << 20;
    private static final Map<String, DType> STORAGE_DTYPES = Map.of(
            "torch.FloatStorage", DType.F32, "torch.HalfStorage", DType.F16, "torch.BFloat16Storage", DType.BF16,
            "torch.DoubleStorage", DType.F64, "torch.LongStorage", DType.I64, "torch.IntStorage", DType.I32,
            "torch.ShortStorage", DType.I16, "torch.CharStorage", DType.I8, "torch.ByteStorage", DType.U8,
            "torch.BoolStorage", DType.BOOL);

    @FuzzTest(maxDuration = "5m")
    void fuzz(byte[] pickle) {
        Map<String, Long> storages = new LinkedHashMap<>();
        RestrictedUnpickler.PersistentLoader recorder = pid -> {
            if (pid instanceof List<?> t && t.size() == 5 && t.get(2) instanceof String key && t.get(4) instanceof Long n
                    && n >= 0 && n <= MAX_STORAGE_BYTES) {
                DType d = STORAGE_DTYPES.getOrDefault(String.valueOf(t.get(1)), DType.U8);
                storages.merge(key, n * d.size, Math::max);
                return new TorchStorage(null, key, "FloatStorage", d, n, "archive/data/" + key, null);
            }
            throw new CheckpointException("data.pkl", "persistent id the fuzz harness does not model");
        };
        try {
            new RestrictedUnpickler("data.pkl", pickle,
                    (m, n) -> TorchZipReader.resolveGlobal("data.pkl", Set.of("argparse.Namespace"), m, n), recorder).load();
        } catch (CheckpointException expected) {
            if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message", expected);
            return;
        }
        long total = storages.values().stream().mapToLong(Long::longValue).sum();
        if (total > MAX_STORAGE_BYTES) return;
        byte[] zip = archive(pickle, storages);
        if (zip == null) return; // storage keys no zip entry name can hold
        Path p = FuzzSupport.scratch("pickle.pth", zip);
        try (Checkpoint c = Checkpoints.open(p, Checkpoints.Options.defaults().withOpaqueGlobals("argparse.Namespace"))) {
            FuzzSupport.touchAll(c);
        } catch (CheckpointException expected) {
            if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message", expected);
        }
    }

    /**
     * A stored (uncompressed) torch.save-style archive of {@code pickle} and storages of the given
     * byte sizes, or null when a storage key cannot be a zip entry name.
     */
    static byte[] archive(byte[] pickle, Map<String, Long> storages) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bos)) {
            put(out, "archive/data.pkl", pickle);
            put(out, "archive/byteorder", "little".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            for (Map.Entry<String, Long> e : storages.entrySet()) {
                byte[] b = new byte[(int) (long) e.getValue()];
                for (int i = 0; i < b.length; i++) b[i] = (byte) (i * 31 + 7);
                put(out, "archive/data/" + e.getKey(), b);
            }
        } catch (IllegalArgumentException | java.util.zip.ZipException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    private static void put(ZipOutputStream out, String name, byte[] b) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(b.length);
        CRC32 crc = new CRC32();
        crc.update(b);
        e.setCrc(crc.getValue());
        out.putNextEntry(e);
        out.write(b);
        out.closeEntry();
    }
}
