package org.attnzoo.sdk.io;

import org.attnzoo.sdk.runtime.NdArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void roundTrips() throws IOException {
        NdArray a = new NdArray(new float[]{1.5f, -2f, 3f, 4f, 5f, 6f}, new long[]{2, 3});
        Path f = tmp.resolve("a.npy");
        Npy.write(f, a);
        NdArray b = Npy.read(f);
        assertThat(b.shape()).containsExactly(2, 3);
        assertThat(b.data()).containsExactly(a.data());
        assertThat((Files.size(f) - 6 * 4) % 64).isZero();
    }

    @Test
    void rejectsTruncatedAndNonNpyFiles() throws IOException {
        Path f = tmp.resolve("a.npy");
        Npy.write(f, new NdArray(new float[8], new long[]{8}));
        byte[] bytes = Files.readAllBytes(f);
        Path cut = tmp.resolve("cut.npy");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 5));
        assertThatThrownBy(() -> Npy.read(cut)).hasMessageContaining("cut.npy").hasMessageContaining("truncated");
        Path txt = tmp.resolve("x.npy");
        Files.writeString(txt, "hello world");
        assertThatThrownBy(() -> Npy.read(txt)).hasMessageContaining("not a NumPy .npy file");
    }
}
