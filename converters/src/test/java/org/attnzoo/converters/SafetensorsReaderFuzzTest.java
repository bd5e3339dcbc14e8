package org.attnzoo.converters;

import java.nio.file.Path;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing of {@link SafetensorsReader} through {@link Checkpoints#open}. Seeds:
 * {@code SafetensorsReaderFuzzTestInputs/fuzz/} (the fixtures of {@code checkpoints/}); crashing
 * inputs found by a {@code -Dfuzz} run are kept there and replayed by every plain {@code mvn test}.
 */
class SafetensorsReaderFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void fuzz(byte[] data) {
        Path p = FuzzSupport.scratch("input.safetensors", data);
        try (Checkpoint c = Checkpoints.open(p)) {
            FuzzSupport.touchAll(c);
        } catch (CheckpointException expected) {
            // a clean, one-line refusal is the right answer to a malformed file
            if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message", expected);
        }
    }
}
