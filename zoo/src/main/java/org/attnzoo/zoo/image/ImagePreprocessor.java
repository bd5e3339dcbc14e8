package org.attnzoo.zoo.image;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.NdArray;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/**
 * Prepares images the way timm's evaluation transform does for a model card: resize the shorter
 * side to {@code floor(H / crop_pct)} (aspect kept) with the card's interpolation, centre-crop
 * {@code H×W}, scale to 0–1, subtract mean, divide by std; CHW float32.
 *
 * <p>Resampling follows PIL's separable filters (triangle for bilinear, Keys cubic a = −0.5 for
 * bicubic), widened by the scale factor when shrinking, as PIL's {@code Image.resize} does.
 */
public final class ImagePreprocessor {
    private final Preprocessing p;

    public ImagePreprocessor(Preprocessing p) {
        this.p = p;
    }

    public NdArray load(Path file) throws IOException {
        return batch(List.of(file));
    }

    /** A batch {@code [N, 3, H, W]} of the given image files. */
    public NdArray batch(List<Path> files) throws IOException {
        int h = p.height(), w = p.width();
        float[] out = new float[files.size() * 3 * h * w];
        for (int i = 0; i < files.size(); i++) {
            float[] one;
            try {
                one = prepare(read(files.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IOException(files.get(i) + ": " + e.getMessage(), e);
            }
            System.arraycopy(one, 0, out, i * one.length, one.length);
        }
        return new NdArray(out, new long[]{files.size(), 3, h, w});
    }

    /** Largest image accepted, in pixels (a 64-megapixel photo; far beyond any model's input). */
    public static final long MAX_PIXELS = 64L << 20;

    /**
     * Decodes {@code file}. The dimensions are read from the header first and an image over
     * {@link #MAX_PIXELS} is refused before any pixel memory is allocated (a few bytes of PNG can
     * claim a 100,000 &times; 100,000 image); a decoder failing on a malformed file (the JDK's
     * decoders throw assorted runtime exceptions) becomes an {@link IOException} naming the file.
     */
    static BufferedImage read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such image file");
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            return decode(in, file.toString());
        }
    }

    private static final String UNREADABLE = "not an image this JVM can read (PNG, JPEG, BMP, GIF)";

    /**
     * Decodes an encoded image held in memory (the bytes of a PNG, JPEG, BMP or GIF file) with the
     * same checks as files (dimensions before pixels, decoder failures as one-line IOExceptions).
     */
    public static BufferedImage decode(byte[] encoded) throws IOException {
        if (encoded == null || encoded.length == 0) throw new IOException("empty image bytes");
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            return decode(in, "image bytes");
        }
    }

    /** Header first, {@link #MAX_PIXELS} checked, then the pixels; every failure names {@code what}. */
    private static BufferedImage decode(ImageInputStream in, String what) throws IOException {
        Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
        if (readers == null || !readers.hasNext()) {
            throw new IOException(what + ": " + UNREADABLE);
        }
        ImageReader r = readers.next();
        try {
            r.setInput(in, true, true);
            long w = r.getWidth(0), h = r.getHeight(0);
            if (w <= 0 || h <= 0 || w * h > MAX_PIXELS) {
                throw new IOException(what + ": image of " + w + " x " + h + " pixels; at most " + MAX_PIXELS
                        + " pixels with positive sides are accepted");
            }
            BufferedImage img = r.read(0, r.getDefaultReadParam());
            if (img == null) throw new IOException(what + ": the " + r.getFormatName() + " decoder returned no image");
            return img;
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(what)) throw e;
            throw new IOException(what + ": cannot decode the image: " + oneLine(e), e);
        } catch (RuntimeException e) {
            throw new IOException(what + ": malformed image (the decoder failed: " + oneLine(e) + ")", e);
        } finally {
            r.dispose();
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
        m = m.replaceAll("\\s+", " ").trim();
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }

    /** One image to normalized CHW floats. */
    public float[] prepare(BufferedImage img) {
        int th = p.height(), tw = p.width();
        int iw = img.getWidth(), ih = img.getHeight();
        int scale = (int) Math.floor(th / p.cropPct());
        int rw, rh;
        if (p.cropMode().equals(Preprocessing.SQUASH)) {   // both sides to the scale size, aspect ratio not kept
            rh = scale;
            rw = (int) Math.floor(tw / p.cropPct());
        } else if (iw <= ih) {
            rw = scale;
            rh = (int) Math.min(Integer.MAX_VALUE, scale * (long) ih / iw);
        } else {
            rh = scale;
            rw = (int) Math.min(Integer.MAX_VALUE, scale * (long) iw / ih);
        }
        if ((long) rw * rh > MAX_PIXELS || rw <= 0 || rh <= 0) {
            throw new IllegalArgumentException("an image of " + iw + " x " + ih + " pixels would be resized to "
                    + (rw <= 0 || rh <= 0 ? "nothing" : rw + " x " + rh) + "; its aspect ratio is too extreme");
        }
        if ((long) iw * ih > MAX_PIXELS) {
            throw new IllegalArgumentException("image of " + iw + " x " + ih + " pixels; at most " + MAX_PIXELS + " are accepted");
        }
        float[][] rgb = new float[3][iw * ih];
        for (int y = 0; y < ih; y++) {
            for (int x = 0; x < iw; x++) {
                int c = img.getRGB(x, y);
                rgb[0][y * iw + x] = (c >> 16) & 0xff;
                rgb[1][y * iw + x] = (c >> 8) & 0xff;
                rgb[2][y * iw + x] = c & 0xff;
            }
        }
        boolean cubic = !"bilinear".equals(p.interpolation());
        int top = (int) Math.round((rh - th) / 2.0), left = (int) Math.round((rw - tw) / 2.0);
        float[] out = new float[3 * th * tw];
        for (int c = 0; c < 3; c++) {
            float[] r = (rw == iw && rh == ih) ? rgb[c] : resize(rgb[c], iw, ih, rw, rh, cubic);
            for (int y = 0; y < th; y++) {
                for (int x = 0; x < tw; x++) {
                    int sy = y + top, sx = x + left;
                    // a crop larger than the resized image (crop_pct > 1) is zero-padded, as torchvision's CenterCrop does
                    double v = sy < 0 || sx < 0 || sy >= rh || sx >= rw ? 0.0 : clamp255(r[sy * rw + sx]) / 255.0;
                    out[(c * th + y) * tw + x] = (float) ((v - p.mean()[c]) / p.std()[c]);
                }
            }
        }
        return out;
    }

    private static double clamp255(double v) {
        return Math.max(0, Math.min(255, Math.round(v)));
    }

    static float[] resize(float[] src, int sw, int sh, int dw, int dh, boolean cubic) {
        float[] tmp = new float[dw * sh];
        for (int y = 0; y < sh; y++) resample(src, y * sw, 1, sw, tmp, y * dw, 1, dw, cubic);
        float[] dst = new float[dw * dh];
        for (int x = 0; x < dw; x++) resample(tmp, x, dw, sh, dst, x, dw, dh, cubic);
        return dst;
    }

    private static void resample(float[] in, int inOff, int inStride, int inLen, float[] out, int outOff, int outStride, int outLen, boolean cubic) {
        double scale = (double) inLen / outLen;
        double fscale = Math.max(scale, 1.0);
        double support = (cubic ? 2.0 : 1.0) * fscale;
        for (int i = 0; i < outLen; i++) {
            double center = (i + 0.5) * scale;
            int lo = (int) Math.max(0, Math.floor(center - support));
            int hi = (int) Math.min(inLen, Math.ceil(center + support));
            double acc = 0, wsum = 0;
            for (int j = lo; j < hi; j++) {
                double t = (j + 0.5 - center) / fscale;
                double wgt = cubic ? keys(t) : Math.max(0, 1 - Math.abs(t));
                acc += wgt * in[inOff + j * inStride];
                wsum += wgt;
            }
            out[outOff + i * outStride] = (float) (wsum == 0 ? 0 : acc / wsum);
        }
    }

    private static double keys(double t) {
        double a = -0.5, x = Math.abs(t);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }
}
