package org.attnzoo.sdk.nn;

/**
 * Eval-mode {@code torch.nn.BatchNorm*d} as a per-channel affine map, for folding into the
 * preceding convolution or linear layer at build time (exact up to rounding).
 */
public final class BatchNorm {
    public static final double DEFAULT_EPS = 1e-5;

    private BatchNorm() {
    }

    /** The folded conv/linear weight {@code [out, ...]} and bias {@code [out]}. */
    public record Folded(float[] weight, float[] bias) {
    }

    /**
     * Per-channel scale and shift {@code (γ/√(σ²+ε), β − μ·γ/√(σ²+ε))} in double precision, from
     * {@code bn.weight/bias} (parameters) and {@code bn.running_mean/running_var} (buffers).
     */
    public static double[][] affine(Scope bn, int channels, double eps) {
        float[] gamma = bn.floats("weight", channels);
        float[] beta = bn.floats("bias", channels);
        float[] mean = bn.buffer("running_mean", channels);
        float[] var = bn.buffer("running_var", channels);
        double[] scale = new double[channels], shift = new double[channels];
        for (int i = 0; i < channels; i++) {
            scale[i] = gamma[i] / Math.sqrt((double) var[i] + eps);
            shift[i] = beta[i] - mean[i] * scale[i];
        }
        return new double[][]{scale, shift};
    }

    /**
     * {@code BN(W x + b)} as {@code W' x + b'}: scales output channel {@code o} of {@code weight}
     * (row-major {@code [out, ...]}) and shifts the bias ({@code bias} may be null for none).
     */
    public static Folded fold(float[] weight, float[] bias, double[][] affine) {
        int out = affine[0].length;
        int per = weight.length / out;
        float[] w = new float[weight.length], b = new float[out];
        for (int o = 0; o < out; o++) {
            double sc = affine[0][o];
            for (int i = 0; i < per; i++) w[o * per + i] = (float) (weight[o * per + i] * sc);
            b[o] = (float) ((bias == null ? 0.0 : bias[o]) * sc + affine[1][o]);
        }
        return new Folded(w, b);
    }

    /**
     * {@code W·BN(x) + b} as {@code W'·x + b'}: a BatchNorm that precedes a linear map (a Linear or
     * 1×1 conv, {@code weight} row-major {@code [out, in]}) folded into it — column {@code i} scaled
     * by the BatchNorm's scale, the shifts pushed through into the bias ({@code bias} may be null).
     */
    public static Folded foldBefore(float[] weight, float[] bias, double[][] affine) {
        int in = affine[0].length;
        int out = weight.length / in;
        float[] w = new float[weight.length], b = new float[out];
        for (int o = 0; o < out; o++) {
            double acc = bias == null ? 0.0 : bias[o];
            for (int i = 0; i < in; i++) {
                w[o * in + i] = (float) (weight[o * in + i] * affine[0][i]);
                acc += weight[o * in + i] * affine[1][i];
            }
            b[o] = (float) acc;
        }
        return new Folded(w, b);
    }

    /**
     * A square {@code k×k} conv (stride, padding {@code k/2}, groups; with the conv's own bias when
     * {@code convBias}) followed by an eval-mode BatchNorm, emitted as one Conv whose weights are
     * {@code <conv>.weight_folded} and {@code <conv>.bias_folded} — the Conv2d + BatchNorm2d pair
     * that many families' stems and downsamplers use.
     */
    public static org.attnzoo.sdk.graph.Value convFolded(Scope conv, Scope bn, org.attnzoo.sdk.graph.Value x, int out, int k,
                                                         int stride, int groups, boolean convBias, double eps) {
        return convFolded(conv, bn, x, out, k, stride, k / 2, 1, groups, convBias, eps);
    }

    /**
     * {@code Conv2d(k, stride, padding=pad, dilation, groups[, bias])} then {@code BatchNorm2d} (eval),
     * as one conv: the conv's weight (and bias) read under {@code conv}, the BatchNorm under {@code bn},
     * folded at build time into {@code conv.weight_folded} / {@code conv.bias_folded}.
     */
    public static org.attnzoo.sdk.graph.Value convFolded(Scope conv, Scope bn, org.attnzoo.sdk.graph.Value x, int out, int k,
                                                         int stride, int pad, int dilation, int groups, boolean convBias, double eps) {
        int in = Math.toIntExact(x.dim(1)) / groups;
        Folded f = fold(conv.floats("weight", out, in, k, k), convBias ? conv.floats("bias", out) : null, affine(bn, out, eps));
        return conv.graph().conv2d(x, conv.derived("weight_folded", "BatchNorm folded in", f.weight(), out, in, k, k),
                conv.derived("bias_folded", "BatchNorm folded in", f.bias(), out), new int[]{stride, stride}, new int[]{pad, pad, pad, pad},
                new int[]{dilation, dilation}, groups);
    }
}
