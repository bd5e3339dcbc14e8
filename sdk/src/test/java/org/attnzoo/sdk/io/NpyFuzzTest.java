package org.attnzoo.sdk.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.code_intelligence.jazzer.junit.FuzzTest;

import org.attnzoo.sdk.runtime.NdArray;

/**
 * Coverage-guided fuzzing of {@link Npy#read}: it either returns an array consistent with its
 * shape or throws an {@link IOException} with a one-line message; anything else is a finding.
 * Seeds (arrays written by NumPy, including the refused kinds): {@code NpyFuzzTestInputs/fuzz/}.
 */
class NpyFuzzTest {
    private static Path file;

    private static synchronized Path scratch(byte[] data) {
        try {
            if (file == null) {
                file = Files.createTempFile("attnzoo-fuzz", ".npy");
                file.toFile().deleteOnExit();
            }
            Files.write(file, data);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "5m")
    void fuzz(byte[] data) {
        Path p = scratch(data);
        try {
            NdArray a = Npy.read(p);
            long n = 1;
            for (long d : a.shape()) n *= d;
            if (n != a.data().length) throw new AssertionError("shape does not match the data: " + n + " vs " + a.data().length);
        } catch (IOException expected) {
            if (expected.getMessage() == null || expected.getMessage().contains("\n")) {
                throw new AssertionError("not a one-line message", expected);
            }
        }
    }
}
