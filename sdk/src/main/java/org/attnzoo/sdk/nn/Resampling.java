package org.attnzoo.sdk.nn;

/**
 * PyTorch's spatial resampling at fixed sizes as constant matrices, for graphs that apply them as
 * one MatMul over the flattened map ({@code [..., H·W] @ M → [..., H'·W']}): exact (up to float
 * rounding of the weights) for any size pair, including the overlapping bins of adaptive pooling
 * and upsampling.
 */
public final class Resampling {
    private Resampling() {
    }

    /**
     * {@code F.adaptive_avg_pool2d} from {@code h×w} to {@code ph×pw}: bin {@code o} of an axis of
     * length {@code n} covers {@code [floor(o·n/p), ceil((o+1)·n/p))}. Returns {@code [h·w, ph·pw]}.
     */
    public static float[] adaptiveAvgPool(int h, int w, int ph, int pw) {
        float[] m = new float[h * w * ph * pw];
        int cols = ph * pw;
        for (int oy = 0; oy < ph; oy++) {
            int y0 = Math.floorDiv(oy * h, ph), y1 = -Math.floorDiv(-(oy + 1) * h, ph);
            for (int ox = 0; ox < pw; ox++) {
                int x0 = Math.floorDiv(ox * w, pw), x1 = -Math.floorDiv(-(ox + 1) * w, pw);
                double inv = 1.0 / ((y1 - y0) * (x1 - x0));
                for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) m[(y * w + x) * cols + oy * pw + ox] = (float) inv;
            }
        }
        return m;
    }

    /** One axis of {@code F.interpolate(mode='bilinear', align_corners=False)} to a given size: {@code [in, out]} weights. */
    public static double[][] linearAxis(int in, int out) {
        double[][] r = new double[in][out];
        double scale = (double) in / out;
        for (int o = 0; o < out; o++) {
            double src = Math.max((o + 0.5) * scale - 0.5, 0.0);
            int i0 = Math.min((int) Math.floor(src), in - 1);
            int i1 = Math.min(i0 + 1, in - 1);
            double l1 = src - i0, l0 = 1.0 - l1;
            r[i0][o] += l0;
            r[i1][o] += l1;
        }
        return r;
    }

    /** {@code F.interpolate(size=(oh, ow), mode='bilinear', align_corners=False)}: {@code [h·w, oh·ow]}. */
    public static float[] bilinear(int h, int w, int oh, int ow) {
        double[][] ry = linearAxis(h, oh), rx = linearAxis(w, ow);
        float[] m = new float[h * w * oh * ow];
        int cols = oh * ow;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int oy = 0; oy < oh; oy++) {
                    if (ry[y][oy] == 0) continue;
                    for (int ox = 0; ox < ow; ox++) m[(y * w + x) * cols + oy * ow + ox] = (float) (ry[y][oy] * rx[x][ox]);
                }
        return m;
    }
}
