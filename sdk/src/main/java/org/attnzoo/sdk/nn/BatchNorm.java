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
}
