package org.attnzoo.converters;

import java.nio.file.Path;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing of the zip layer of {@link TorchZipReader} (and the pickle inside, where
 * a mutation leaves the archive readable): raw file bytes through {@link Checkpoints#open}.
 * Seeds: the {@code .pth} fixtures, in {@code TorchZipReaderFuzzTestInputs/fuzz/}.
 */
class TorchZipReaderFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void fuzz(byte[] data) {
        Path p = FuzzSupport.scratch("input.pth", data);
        try (Checkpoint c = Checkpoints.open(p, Checkpoints.Options.defaults().withOpaqueGlobals("argparse.Namespace"))) {
            FuzzSupport.touchAll(c);
        } catch (CheckpointException expected) {
            if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message", expected);
        }
    }
}
