package org.attnzoo.converters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * Shared plumbing of the fuzz tests: a scratch file per JVM that each input is written to, and a
 * walk over every tensor of an opened checkpoint so that lazy reads are exercised too.
 *
 * <p>The contract the fuzz tests enforce: a reader either accepts the input or throws
 * {@link CheckpointException}; anything else (NullPointerException, IndexOutOfBounds,
 * OutOfMemoryError, StackOverflowError, a hang caught by the fuzzer's per-input timeout) is a finding.
 */
final class FuzzSupport {
    private static Path dir;

    private FuzzSupport() {
    }

    /** Writes {@code data} to a scratch file called {@code name} (overwritten by the next input). */
    static synchronized Path scratch(String name, byte[] data) {
        try {
            if (dir == null) {
                dir = Files.createTempDirectory("attnzoo-fuzz");
                dir.toFile().deleteOnExit();
            }
            Path p = dir.resolve(name);
            Files.write(p, data);
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads every tensor of {@code sd} (values too when small), as a converter would. */
    static long touchAll(StateDict sd) {
        long sum = 0;
        for (String k : sd.keys()) {
            TensorData t = sd.get(k);
            sum += t.describe().length();
            if (t.numel() <= (1 << 16)) {
                if (t.dtype().isFloating()) {
                    double[] d = t.toDoubleArray();
                    sum += d.length;
                } else {
                    sum += t.rawBytes().remaining();
                }
            }
        }
        return sum;
    }
}
