package org.attnzoo.zoo.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.code_intelligence.jazzer.junit.FuzzTest;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.NdArray;

/**
 * Coverage-guided fuzzing of the image loader ({@link ImagePreprocessor#load}: header check,
 * decoding by the JDK's ImageIO, resize, crop, normalise): an input either yields a
 * {@code [1, 3, 32, 32]} batch or an {@link IOException} naming the file on one line. Seeds:
 * small PNG, JPEG, BMP and GIF files, in {@code ImagePreprocessorFuzzTestInputs/fuzz/}.
 */
class ImagePreprocessorFuzzTest {
    private static final ImagePreprocessor PRE = new ImagePreprocessor(new Preprocessing(new int[]{3, 32, 32},
            new double[]{0.485, 0.456, 0.406}, new double[]{0.229, 0.224, 0.225}, 0.875, "bicubic", Preprocessing.CENTER));
    private static Path file;

    private static synchronized Path scratch(byte[] data) {
        try {
            if (file == null) {
                file = Files.createTempFile("attnzoo-fuzz", ".img");
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
            NdArray a = PRE.batch(List.of(p));
            if (a.data().length != 3 * 32 * 32) throw new AssertionError("batch of " + a.data().length + " values");
        } catch (IOException expected) {
            String m = expected.getMessage();
            if (m == null || m.contains("\n") || !m.startsWith(p.toString())) {
                throw new AssertionError("not a one-line message naming the file", expected);
            }
        }
    }
}
