package org.attnzoo.zoo.family.inline;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.nn.Scope;

/**
 * InLine attention (Han et al., "Bridging the Divide: Reconsidering Softmax and Linear
 * Attention", NeurIPS 2024), the authors' {@code InLineAttention}: injective linear attention
 * {@code q·(kᵀv)·scale/n + (1 − scale·q·mean(k)) · mean(v)} per head, plus a local residual — a
 * per-sample depthwise 3×3 conv of the value map whose kernels come from the mean token through two
 * grouped (per-head) 1×1 convs with a GELU between — then the output projection.
 *
 * <p>In the graph the grouped 1×1 convs are block-diagonal MatMuls and the per-sample depthwise
 * conv is nine shifted copies of the value map (one depthwise Conv with one-hot kernels: exact
 * copies, not counted as multiply-adds) times the kernels, summed over the taps.
 */
final class InLineAttention {
    private InLineAttention() {
    }

    /**
     * {@code x} [B, n, c] (the normed block input), {@code q, k, v} [B, heads, n, hd]; the value
     * map is tokens {@code first .. n-1} as an {@code h×w} image. Returns the output before the projection, [B, n, c].
     */
    static Value mix(Scope s, Value x, Value q, Value k, Value v, int heads, int h, int w, int first) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(2));
        Value xm = g.op1("ReduceMean", new Value[]{x}, x.dtype(), new long[]{x.dim(0), c}, Attr.ints("axes", 1), Attr.i("keepdims", 0));
        return mixWithMean(s, xm, q, k, v, heads, h, w, first);
    }

    /** {@link #mix} with the residual kernels generated from a given mean token {@code xm} [B, c]. */
    static Value mixWithMean(Scope s, Value xm, Value q, Value k, Value v, int heads, int h, int w, int first) {
        Graph g = s.graph();
        long n = q.dim(2);
        int c = Math.toIntExact(xm.dim(1)), hd = c / heads;
        double scale = Math.pow(hd, -0.5);
        long[] mean = {q.dim(0), heads, 1, hd};
        Value kMean = g.op1("ReduceMean", new Value[]{k}, k.dtype(), mean, Attr.ints("axes", 2), Attr.i("keepdims", 1));
        Value vMean = g.op1("ReduceMean", new Value[]{v}, v.dtype(), mean, Attr.ints("axes", 2), Attr.i("keepdims", 1));
        Value kv = g.mul(g.matMul(g.transpose(k, 0, 1, 3, 2), v), (float) (scale / n));          // [B, heads, hd, hd]
        Value gate = g.sub(g.constant("one", new float[]{1f}, 1), g.mul(g.matMul(q, g.transpose(kMean, 0, 1, 3, 2)), (float) scale));
        Value y = g.add(g.matMul(q, kv), g.mul(gate, vMean));                                      // [B, heads, n, hd]
        Value tokens = g.reshape(g.transpose(y, 0, 2, 1, 3), -1, n, c);

        // residual: per-sample 3x3 depthwise kernels from the mean token
        Value r1 = g.gelu(groupedPointwise(s.scope("residual.0"), xm, c, c, heads));
        Value kern = g.reshape(groupedPointwise(s.scope("residual.2"), r1, c, 9 * c, heads), -1, c, 9, 1);   // [B, c, 9, 1]
        Value vImg = g.transpose(v, 0, 1, 3, 2);                                                   // [B, heads, hd, n]
        if (first > 0) vImg = g.split(vImg, 3, first, n - first)[1];
        vImg = g.reshape(vImg, -1, c, h, w);
        float[] onehot = new float[c * 81];
        for (int ch = 0; ch < c; ch++) for (int t = 0; t < 9; t++) onehot[(ch * 9 + t) * 9 + t] = 1f;
        Value shifts = g.op1("Conv", new Value[]{vImg, g.constant("taps3x3", onehot, 9L * c, 1, 3, 3)}, vImg.dtype(),
                new long[]{vImg.dim(0), 9L * c, h, w}, Attr.ints("kernel_shape", 3, 3), Attr.ints("pads", 1, 1, 1, 1), Attr.i("group", c));
        Value prod = g.mul(g.reshape(shifts, -1, c, 9, (long) h * w), kern);
        Value res = g.op1("ReduceSum", new Value[]{prod, g.ints(2)}, prod.dtype(), new long[]{prod.dim(0), c, (long) h * w}, Attr.i("keepdims", 0));
        Value resTokens = g.transpose(res, 0, 2, 1);                                               // [B, hw, c]
        if (first > 0) resTokens = g.pad(resTokens, new long[]{0, first, 0, 0, 0, 0}, 0f);
        return g.add(tokens, resTokens);
    }

    /** A grouped 1×1 Conv1d ({@code groups} groups) on [B, in] as a block-diagonal MatMul + bias. */
    static Value groupedPointwise(Scope s, Value x, int in, int out, int groups) {
        Graph g = s.graph();
        int ig = in / groups, og = out / groups;
        float[] w = s.floats("weight", out, ig, 1), b = s.floats("bias", out);
        float[] m = new float[in * out];
        for (int o = 0; o < out; o++) {
            int grp = o / og;
            for (int j = 0; j < ig; j++) m[(grp * ig + j) * out + o] = w[o * ig + j];
        }
        return g.add(g.matMul(x, s.derived("weight_blockdiag", "grouped 1x1 Conv1d as a block-diagonal [in, out] matrix", m, in, out)),
                s.param("bias", out));
    }
}
