package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/**
 * {@code torch.nn.Linear}: {@code y = x W^T + b} over the last axis, emitted as MatMul (+ Add) with
 * the weight stored transposed ({@code [in, out]}) under its PyTorch name.
 */
public final class Linear {
    private Linear() {
    }

    public static Value apply(Scope s, Value x, long in, long out, boolean bias) {
        return apply(s, x, new float[][]{s.floats("weight", out, in)}, bias ? new float[][]{s.floats("bias", out)} : null,
                in, new long[]{out}, null, "weight", "bias");
    }

    /**
     * Several linears sharing an input, fused into one MatMul (their weights concatenated along the
     * output axis); {@code colScale[i]}, if given, multiplies part i's outputs (folded into its
     * weight and bias). Returns the fused output {@code [..., sum(outs)]}.
     */
    public static Value apply(Scope s, Value x, float[][] weights, float[][] biases, long in, long[] outs, float[] colScale,
                              String weightName, String biasName) {
        Graph g = s.graph();
        if (x.dim(-1) != in) {
            throw new org.attnzoo.sdk.graph.ShapeException("Linear " + s.path(weightName) + ": input " + x + " has last dim " + x.dim(-1) + ", expected " + in);
        }
        long total = 0;
        for (long o : outs) total += o;
        int n = Math.toIntExact(total), k = Math.toIntExact(in);
        float[] wt = new float[k * n];
        float[] b = biases == null ? null : new float[n];
        int col = 0;
        for (int p = 0; p < weights.length; p++) {
            int o = Math.toIntExact(outs[p]);
            float sc = colScale == null ? 1f : colScale[p];
            float[] w = weights[p];
            for (int r = 0; r < o; r++) {
                for (int c = 0; c < k; c++) {
                    wt[c * n + col + r] = w[r * k + c] * sc;
                }
                if (b != null && biases[p] != null) b[col + r] = biases[p][r] * sc;
            }
            col += o;
        }
        String doc = "stored transposed [in, out] for MatMul" + (weights.length > 1 ? "; " + weights.length + " linears fused" : "")
                + (colScale != null ? "; output scales folded in" : "");
        Value w = s.derived(weightName, doc, wt, in, total);
        Value y = g.matMul(x, w);
        if (b != null) {
            y = g.add(y, s.derived(biasName, null, b, total));
        }
        return y;
    }
}
