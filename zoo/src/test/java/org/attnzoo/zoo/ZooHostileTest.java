package org.attnzoo.zoo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.hub.Registry;
import org.attnzoo.zoo.hub.RegistryException;
import org.attnzoo.zoo.image.ImagePreprocessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-made hostile images and registry indexes, refused with one line naming the file or source,
 * within the 256 MB heap this class runs with (the {@code hostile-256m} surefire execution).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ZooHostileTest {
    @TempDir
    Path dir;

    private static final ImagePreprocessor PRE = new ImagePreprocessor(new Preprocessing(new int[]{3, 32, 32},
            new double[]{0.5, 0.5, 0.5}, new double[]{0.5, 0.5, 0.5}, 0.875, "bicubic", Preprocessing.CENTER));

    /** A greyscale PNG of {@code w x h} pixels whose image data is {@code rows} zero bytes, deflated. */
    private Path png(String name, int w, int h, int rawBytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).array());
        Deflater d = new Deflater(9);
        d.setInput(new byte[rawBytes]);
        d.finish();
        byte[] buf = new byte[rawBytes / 100 + 1024];
        int n = d.deflate(buf);
        byte[] idat = new byte[n];
        System.arraycopy(buf, 0, idat, 0, n);
        chunk(out, "IDAT", idat);
        chunk(out, "IEND", new byte[0]);
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    @Test
    void aTinyPngClaimingTenGigapixels() throws IOException {
        Path p = png("bomb.png", 100_000, 100_000, 0);
        assertThat(Files.size(p)).isLessThan(100);
        assertThatThrownBy(() -> PRE.load(p)).isInstanceOf(IOException.class)
                .hasMessage(p + ": image of 100000 x 100000 pixels; at most 67108864 pixels with positive sides are accepted");
    }

    @Test
    void anExtremeAspectRatio() throws IOException {
        Path p = png("line.png", 1_000_000, 1, 1_000_001);
        assertThatThrownBy(() -> PRE.load(p)).isInstanceOf(IOException.class)
                .hasMessage(p + ": an image of 1000000 x 1 pixels would be resized to 36000000 x 36; its aspect ratio is too extreme");
    }

    @Test
    void aTruncatedAndAFakeImage() throws IOException {
        Path p = png("short.png", 64, 64, 10);
        assertThatThrownBy(() -> PRE.load(p)).isInstanceOf(IOException.class).hasMessageStartingWith(p + ": ")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        Path q = dir.resolve("fake.jpg");
        Files.writeString(q, "<html>not an image</html>");
        assertThatThrownBy(() -> PRE.load(q)).isInstanceOf(IOException.class)
                .hasMessage(q + ": not an image this JVM can read (PNG, JPEG, BMP, GIF)");
    }

    @Test
    void aRegistryNested100000Deep() {
        String deep = "{\"schema_version\": 1, \"models\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertThatThrownBy(() -> Registry.parse(new ByteArrayInputStream(deep.getBytes()), "deep.json"))
                .isInstanceOf(RegistryException.class).hasMessageStartingWith("registry deep.json: models")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void aRegistryLargerThanTheCap() {
        byte[] big = new byte[Registry.MAX_INDEX_BYTES + 10];
        java.util.Arrays.fill(big, (byte) ' ');
        assertThatThrownBy(() -> Registry.parse(new ByteArrayInputStream(big), "big.json"))
                .isInstanceOf(RegistryException.class)
                .hasMessage("registry big.json: larger than " + Registry.MAX_INDEX_BYTES + " bytes; refused");
    }
}
