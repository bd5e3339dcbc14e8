package org.attnzoo.sdk.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.assertj.core.api.AbstractThrowableAssert;
import org.attnzoo.sdk.runtime.NdArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-made hostile .npy files: each is refused with one line naming the file and the problem,
 * within the 256 MB heap this class runs with (the {@code hostile-256m} surefire execution).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NpyHostileTest {
    @TempDir
    Path dir;

    /** A version-1.0 file with the given header dict and {@code dataBytes} zero bytes of data. */
    private Path npy(String name, String dict, int dataBytes) throws IOException {
        return npy(name, 1, dict, dataBytes);
    }

    private Path npy(String name, int major, String dict, int dataBytes) throws IOException {
        int pre = major == 1 ? 10 : 12;
        StringBuilder h = new StringBuilder(dict);
        while ((pre + h.length() + 1) % 64 != 0) h.append(' ');
        h.append('\n');
        byte[] hb = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(pre + hb.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
        if (major == 1) b.putShort((short) hb.length);
        else b.putInt(hb.length);
        b.put(hb);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> refused(Path p) {
        return assertThatThrownBy(() -> Npy.read(p)).isInstanceOf(IOException.class)
                .hasMessageStartingWith(p + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void fortranOrder() throws IOException {
        Path p = npy("f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
        refused(p).hasMessageContaining("Fortran-order arrays are not supported");
    }

    @Test
    void bigEndian() throws IOException {
        Path p = npy("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", 12);
        refused(p).hasMessageContaining("big-endian arrays are not supported (>f4)");
    }

    @Test
    void objectDtype() throws IOException {
        Path p = npy("obj.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 64);
        refused(p).hasMessageContaining("object arrays (dtype |O) hold pickled Python objects and are never loaded");
    }

    @Test
    void headerClaimingMoreDataThanTheFileHolds() throws IOException {
        // 1 TB of float32 claimed, 16 bytes present: refused before anything is allocated
        Path p = npy("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (262144, 1048576), }", 16);
        refused(p).hasMessageContaining("truncated data: shape [262144, 1048576] of <f4 needs 1099511627776 bytes, file has 16");
    }

    @Test
    void shapeWhoseElementCountOverflows() throws IOException {
        Path p = npy("overflow.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 16);
        refused(p).hasMessageContaining("has more elements than fit in 64 bits");
        Path q = npy("bytes.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", 16);
        refused(q).hasMessageContaining("needs more than 2^63 bytes, file has 16");
    }

    @Test
    void negativeAndGarbageDimensions() throws IOException {
        refused(npy("neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }", 16))
                .hasMessageContaining("negative dimension -1");
        refused(npy("garbage.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 4), }", 32))
                .hasMessageContaining("bad dimension '2L'");
    }

    @Test
    void headerLengthsThatLie() throws IOException {
        // version 2.0 stores a 4-byte header length: 0xFFFFFFFF must not become a negative length
        Path p = dir.resolve("len.npy");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 2).put((byte) 0).putInt(-1);
        Files.write(p, b.array());
        refused(p).hasMessageContaining(".npy header of 4294967295 bytes; at most 100000 are accepted");
        Path q = dir.resolve("trunc.npy");
        b.putInt(8, 1000);
        Files.write(q, b.array());
        refused(q).hasMessageContaining("truncated .npy header: it claims 1000 bytes, the file has 4 after the preamble");
    }

    @Test
    void unknownVersionAndNotNpyAtAll() throws IOException {
        refused(npy("v9.npy", 9, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4))
                .hasMessageContaining("unsupported .npy format version 9.0");
        Path p = dir.resolve("png.npy");
        Files.write(p, new byte[]{(byte) 0x89, 'P', 'N', 'G'});
        refused(p).hasMessageContaining("not a NumPy .npy file");
    }

    @Test
    void aSoundFileStillReads() throws IOException {
        Path p = npy("ok.npy", "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }", 8);
        NdArray a = Npy.read(p);
        assertThat(a.shape()).containsExactly(2, 2);
        assertThat(a.data()).containsExactly(0f, 0f, 0f, 0f);
    }
}
