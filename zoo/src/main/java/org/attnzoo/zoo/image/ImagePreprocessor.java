package org.attnzoo.zoo.image;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.NdArray;

import javax.imageio.ImageIO;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
            float[] one = prepare(read(files.get(i)));
            System.arraycopy(one, 0, out, i * one.length, one.length);
        }
        return new NdArray(out, new long[]{files.size(), 3, h, w});
    }

    static BufferedImage read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such image file");
        BufferedImage img = ImageIO.read(file.toFile());
        if (img == null) throw new IOException(file + ": " + UNREADABLE);
        return img;
    }

    private static final String UNREADABLE = "not an image this JVM can read (PNG, JPEG, BMP, GIF)";

    /**
     * Decodes an encoded image held in memory (the bytes of a PNG, JPEG, BMP or GIF file), as
     * {@link #batch} decodes files; throws with a one-line reason when the bytes are not such an image.
     */
    public static BufferedImage decode(byte[] encoded) throws IOException {
        if (encoded == null || encoded.length == 0) throw new IOException("empty image bytes");
        ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded));
        BufferedImage img = ImageIO.read(in);   // closes the stream when a reader took it; memory only otherwise
        if (img == null) throw new IOException(UNREADABLE);
        return img;
    }

    /** One image to normalized CHW floats. */
    public float[] prepare(BufferedImage img) {
        int th = p.height(), tw = p.width();
        int iw = img.getWidth(), ih = img.getHeight();
        float[][] rgb = new float[3][iw * ih];
        for (int y = 0; y < ih; y++) {
            for (int x = 0; x < iw; x++) {
                int c = img.getRGB(x, y);
                rgb[0][y * iw + x] = (c >> 16) & 0xff;
                rgb[1][y * iw + x] = (c >> 8) & 0xff;
                rgb[2][y * iw + x] = c & 0xff;
            }
        }
        int scale = (int) Math.floor(th / p.cropPct());
        int rw, rh;
        if (p.cropMode().equals(Preprocessing.SQUASH)) {   // both sides to the scale size, aspect ratio not kept
            rh = scale;
            rw = (int) Math.floor(tw / p.cropPct());
        } else if (iw <= ih) {
            rw = scale;
            rh = (int) (scale * (long) ih / iw);
        } else {
            rh = scale;
            rw = (int) (scale * (long) iw / ih);
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
