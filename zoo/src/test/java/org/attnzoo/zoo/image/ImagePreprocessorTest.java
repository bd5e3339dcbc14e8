package org.attnzoo.zoo.image;

import org.attnzoo.sdk.model.Preprocessing;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ImagePreprocessorTest {
    static BufferedImage grey(int w, int h, int v) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (v << 16) | (v << 8) | v);
        return img;
    }

    @Test
    void resizeCropAndNormalizeAConstantImage() {
        Preprocessing p = Preprocessing.imagenet(32, 0.875, "bicubic");
        float[] out = new ImagePreprocessor(p).prepare(grey(120, 80, 128));
        assertThat(out).hasSize(3 * 32 * 32);
        for (int c = 0; c < 3; c++) {
            double want = (128 / 255.0 - p.mean()[c]) / p.std()[c];
            assertThat((double) out[c * 1024 + 17 * 32 + 5]).isCloseTo(want, within(1e-5));
        }
    }

    @Test
    void cropLargerThanTheResizedImageIsZeroPadded() {
        // crop_pct 1.15: the short side is resized to floor(32 / 1.15) = 27, then a 32x32 centre crop pads with 0
        Preprocessing p = Preprocessing.imagenet(32, 1.15, "bicubic");
        float[] out = new ImagePreprocessor(p).prepare(grey(50, 50, 200));
        double pad = (0 - p.mean()[0]) / p.std()[0];
        double inside = (200 / 255.0 - p.mean()[0]) / p.std()[0];
        assertThat((double) out[0]).isCloseTo(pad, within(1e-5));
        assertThat((double) out[16 * 32 + 16]).isCloseTo(inside, within(1e-5));
    }

    @Test
    void shrinkingAveragesLikeAnAntialiasedFilter() {
        // a 2-pixel stripe pattern shrunk 4x averages to mid-grey instead of aliasing to black or white
        BufferedImage img = new BufferedImage(128, 128, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 128; y++) for (int x = 0; x < 128; x++) img.setRGB(x, y, (x / 2) % 2 == 0 ? 0 : 0xffffff);
        Preprocessing p = new Preprocessing(new int[]{3, 32, 32}, new double[]{0, 0, 0}, new double[]{1, 1, 1}, 1.0, "bilinear");
        float[] out = new ImagePreprocessor(p).prepare(img);
        assertThat((double) out[10 * 32 + 10]).isCloseTo(0.5, within(0.05));
    }

    @Test
    void squashResizesBothSidesInsteadOfCroppingTheMiddle() {
        // 64x32: white left quarter, grey middle half, black right quarter; target 32x32 at crop 1.0
        BufferedImage img = new BufferedImage(64, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, x < 16 ? 0xffffff : x < 48 ? 0x808080 : 0);
        Preprocessing centre = new Preprocessing(new int[]{3, 32, 32}, new double[]{0, 0, 0}, new double[]{1, 1, 1}, 1.0, "bilinear");
        Preprocessing squash = centre.withCropMode(Preprocessing.SQUASH);
        float[] c = new ImagePreprocessor(centre).prepare(img);
        float[] s = new ImagePreprocessor(squash).prepare(img);
        assertThat((double) c[16 * 32 + 2]).isCloseTo(128 / 255.0, within(1e-3));   // the centre crop sees only grey
        assertThat((double) s[16 * 32 + 2]).isCloseTo(1.0, within(1e-3));           // the squashed image keeps the white band
        assertThat((double) s[16 * 32 + 30]).isCloseTo(0.0, within(1e-3));
        assertThat(squash.toMetadata()).containsEntry("preprocessing.crop_mode", "squash");
        assertThat(Preprocessing.fromMetadata(squash.toMetadata())).isEqualTo(squash);
    }

    @Test
    void decodedBytesPrepareExactlyAsTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, (x * 6) << 16 | (y * 8) << 8 | ((x + y) * 3));
        java.nio.file.Path png = dir.resolve("a.png");
        javax.imageio.ImageIO.write(img, "png", png.toFile());
        ImagePreprocessor pre = new ImagePreprocessor(Preprocessing.imagenet(32, 0.875, "bicubic"));
        byte[] bytes = java.nio.file.Files.readAllBytes(png);
        assertThat(pre.prepare(ImagePreprocessor.decode(bytes))).containsExactly(pre.load(png).data());

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ImagePreprocessor.decode(new byte[0]))
                .isInstanceOf(java.io.IOException.class).hasMessage("empty image bytes");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ImagePreprocessor.decode("hello".getBytes()))
                .isInstanceOf(java.io.IOException.class).hasMessage("image bytes: not an image this JVM can read (PNG, JPEG, BMP, GIF)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ImagePreprocessor.decode(java.util.Arrays.copyOf(bytes, bytes.length / 2)))
                .isInstanceOf(java.io.IOException.class);
    }
}
