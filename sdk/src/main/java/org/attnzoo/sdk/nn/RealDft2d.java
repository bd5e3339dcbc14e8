package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/**
 * {@code torch.fft.rfft2} and {@code torch.fft.irfft2} with {@code norm="ortho"} over the last two
 * axes of an {@code [B, C, h, w]} map, built from constant real DFT matrices (ONNX has no FFT that
 * every runtime supports): a right MatMul for the real transform along w ({@code k = w/2+1} bins,
 * real and imaginary parts), a left MatMul with {@code [[A, −B], [B, A]]} for the complex transform
 * along h on the stacked parts; the inverse along h the same way, then the real inverse along w,
 * which weighs bins 1…⌈w/2⌉−1 twice and ignores the imaginary parts of the DC and (even w) Nyquist
 * bins exactly as {@code irfft} does, so spectra that are not Hermitian come back as PyTorch's do.
 */
public final class RealDft2d {
    private final int h, w, k;
    private final float[] cw, sw, fwd, inv, pc, ps;

    /** The matrices for an {@code h×w} map. */
    public RealDft2d(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("DFT of an empty map " + h + "x" + w);
        this.h = h;
        this.w = w;
        this.k = w / 2 + 1;
        double sw_ = Math.sqrt(w), sh = Math.sqrt(h);
        cw = new float[w * k];
        sw = new float[w * k];
        for (int x = 0; x < w; x++)
            for (int j = 0; j < k; j++) {
                double a = 2 * Math.PI * (((long) j * x) % w) / w;
                cw[x * k + j] = (float) (Math.cos(a) / sw_);
                sw[x * k + j] = (float) (-Math.sin(a) / sw_);
            }
        fwd = new float[4 * h * h];
        inv = new float[4 * h * h];
        for (int r = 0; r < h; r++)
            for (int q = 0; q < h; q++) {
                double a = 2 * Math.PI * (((long) r * q) % h) / h;
                double ca = Math.cos(a) / sh, sa = Math.sin(a) / sh;
                // forward [[A, -B], [B, A]] with A = cos, B = -sin; inverse with B' = +sin
                set(fwd, h, r, q, ca, -sa);
                set(inv, h, r, q, ca, sa);
            }
        pc = new float[k * w];
        ps = new float[k * w];
        for (int j = 0; j < k; j++) {
            boolean edge = j == 0 || (w % 2 == 0 && j == w / 2);
            double c = edge ? 1 : 2;
            for (int x = 0; x < w; x++) {
                double a = 2 * Math.PI * (((long) j * x) % w) / w;
                pc[j * w + x] = (float) (c * Math.cos(a) / sw_);
                ps[j * w + x] = edge ? 0f : (float) (-c * Math.sin(a) / sw_);
            }
        }
    }

    private static void set(float[] m, int h, int r, int q, double a, double b) {
        int n = 2 * h;
        m[r * n + q] = (float) a;
        m[r * n + h + q] = (float) -b;
        m[(h + r) * n + q] = (float) b;
        m[(h + r) * n + h + q] = (float) a;
    }

    /** The number of frequency bins along w, {@code w/2+1}. */
    public int bins() {
        return k;
    }

    /** {@code rfft2(x, norm="ortho")} of {@code x [B, C, h, w]}: the real and imaginary parts, each {@code [B, C, h, w/2+1]}. */
    public Value[] forward(Graph g, Value x) {
        check(x, w, "rfft2 input");
        long c = x.dim(1);
        Value xr = g.matMul(x, g.constant("rfft_w_cos", cw, w, k));
        Value xi = g.matMul(x, g.constant("rfft_w_sin", sw, w, k));
        Value stacked = g.reshape(g.concat(2, g.unsqueeze(xr, 2), g.unsqueeze(xi, 2)), -1, c, 2L * h, k);   // [B, C, 2h, k]
        Value y = g.reshape(g.matMul(g.constant("fft_h", fwd, 2L * h, 2L * h), stacked), -1, c, 2, h, k);
        Value[] parts = g.split(y, 2, 1, 1);
        return new Value[]{g.squeeze(parts[0], 2), g.squeeze(parts[1], 2)};
    }

    /** {@code irfft2(re + i·im, s=(h, w), norm="ortho")} of two {@code [B, C, h, w/2+1]} parts: {@code [B, C, h, w]}. */
    public Value inverse(Graph g, Value re, Value im) {
        check(re, k, "irfft2 real part");
        check(im, k, "irfft2 imaginary part");
        long c = re.dim(1);
        Value z = g.reshape(g.concat(2, g.unsqueeze(re, 2), g.unsqueeze(im, 2)), -1, c, 2L * h, k);
        Value u = g.reshape(g.matMul(g.constant("ifft_h", inv, 2L * h, 2L * h), z), -1, c, 2, h, k);
        Value[] us = g.split(u, 2, 1, 1);
        return g.add(g.matMul(g.squeeze(us[0], 2), g.constant("irfft_w_cos", pc, k, w)),
                g.matMul(g.squeeze(us[1], 2), g.constant("irfft_w_sin", ps, k, w)));
    }

    private void check(Value x, int last, String what) {
        if (x.rank() != 4 || x.dim(2) != h || x.dim(3) != last) {
            throw new IllegalArgumentException(what + " " + x + ": expected [B, C, " + h + ", " + last + "] for an " + h + "x" + w + " map");
        }
    }
}
