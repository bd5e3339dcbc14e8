package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/**
 * A bias-free convolution followed by an inference-mode BatchNorm ({@code c} + {@code bn}, the
 * "Conv2d_BN" / "Conv2dNorm" pair of SHViT, EfficientViT, LeViT, ...), folded at build time into
 * one convolution with a bias: {@code w' = w · γ/√(σ²+ε)}, {@code b' = β − μ · γ/√(σ²+ε)},
 * computed in double precision.
 *
 * <p>Running variances are non-negative in every trained checkpoint; the fold takes their absolute
 * value so that synthetic (benchmark) weights stay finite.
 */
public final class ConvBn {
    public static final double BN_EPS = 1e-5;

    /** The folded kernel {@code [out, in/groups, k, k]} and bias {@code [out]}. */
    public record Folded(float[] weight, float[] bias, int out, int inPerGroup, int k) {
        /** Adds the identity to the centre tap of a depthwise kernel: {@code x + conv(x)} as one conv. */
        public Folded plusIdentity() {
            if (inPerGroup != 1 || k % 2 == 0) throw new IllegalStateException("identity fold needs an odd depthwise kernel");
            float[] w = weight.clone();
            int centre = (k / 2) * k + k / 2;
            for (int o = 0; o < out; o++) w[o * k * k + centre] += 1f;
            return new Folded(w, bias, out, inPerGroup, k);
        }
    }

    private ConvBn() {
    }

    /** Per-channel BatchNorm scale and shift (see {@link org.attnzoo.sdk.nn.BatchNorm#affine}). */
    public static double[][] bnAffine(Scope bn, int ch, double eps) {
        return BatchNorm.affine(bn, ch, eps);
    }

    /** Reads {@code s.c.weight} and {@code s.bn.*} and folds them. */
    public static Folded fold(Scope s, int in, int out, int k, int groups) {
        int ipg = in / groups;
        float[] w = s.scope("c").floats("weight", out, ipg, k, k);
        double[][] a = bnAffine(s.scope("bn"), out, BN_EPS);
        int per = ipg * k * k;
        float[] fw = new float[w.length];
        float[] fb = new float[out];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < per; j++) fw[o * per + j] = (float) (w[o * per + j] * a[0][o]);
            fb[o] = (float) a[1][o];
        }
        return new Folded(fw, fb, out, ipg, k);
    }

    /** Emits a folded convolution ("same" padding {@code k/2}) under the scope's names. */
    public static Value emit(Scope s, Value x, Folded f, int stride, int groups) {
        Graph g = s.graph();
        Value w = s.derived("c.weight", "Conv2d_BN with BatchNorm folded in", f.weight(), f.out(), f.inPerGroup(), f.k(), f.k());
        Value b = s.derived("c.bias", "folded BatchNorm shift", f.bias(), f.out());
        int p = f.k() / 2;
        return g.conv2d(x, w, b, new int[]{stride, stride}, new int[]{p, p, p, p}, new int[]{1, 1}, groups);
    }

    /** Conv2d_BN as one convolution. */
    public static Value apply(Scope s, Value x, int out, int k, int stride, int groups) {
        int in = Math.toIntExact(x.dim(1));
        return emit(s, x, fold(s, in, out, k, groups), stride, groups);
    }

    /** {@code x + Conv2d_BN(x)} for a depthwise kernel, as one convolution (the identity added to the centre tap). */
    public static Value residualDepthwise(Scope s, Value x, int k) {
        int c = Math.toIntExact(x.dim(1));
        return emit(s, x, fold(s, c, c, k, c).plusIdentity(), 1, c);
    }
}
