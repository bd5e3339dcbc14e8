package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/** Multi-head self-attention pieces shared by the families. */
public final class Attention {
    private Attention() {
    }

    /** Query, key and value per head: q {@code [B,H,N,d]}, k transposed {@code [B,H,d,N]}, v {@code [B,H,N,d]}. */
    public record Heads(Value q, Value kT, Value v) {
    }

    /**
     * Splits a fused {@code [B, N, 3C]} projection (q | k | v along the last axis) into heads.
     */
    public static Heads splitHeads(Graph g, Value qkv, long dim, long heads) {
        long hd = dim / heads;
        long n = qkv.dim(1);
        Value[] p = g.split(qkv, -1, dim, dim, dim);
        Value q = g.transpose(g.reshape(p[0], -1, n, heads, hd), 0, 2, 1, 3);
        Value k = g.transpose(g.reshape(p[1], -1, n, heads, hd), 0, 2, 3, 1);
        Value v = g.transpose(g.reshape(p[2], -1, n, heads, hd), 0, 2, 1, 3);
        return new Heads(q, k, v);
    }

    /** {@code [B,H,N,d]} back to {@code [B,N,H·d]}. */
    public static Value mergeHeads(Graph g, Value x) {
        long h = x.dim(1), n = x.dim(2), d = x.dim(3);
        return g.reshape(g.transpose(x, 0, 2, 1, 3), -1, n, h * d);
    }

    /**
     * timm's {@code Attention} / ConViT's {@code MHSA}: fused qkv linear (bias optional), softmax
     * attention with the {@code head_dim^-0.5} scale folded into the query weights, output projection.
     */
    public static Value mhsa(Scope s, Value x, long dim, long heads, boolean qkvBias) {
        Graph g = s.graph();
        Scope qkvS = s.scope("qkv");
        float scale = (float) Math.pow((double) (dim / heads), -0.5);
        float[] w = qkvS.floats("weight", 3 * dim, dim);
        float[] b = qkvBias ? qkvS.floats("bias", 3 * dim) : null;
        int c = Math.toIntExact(dim);
        float[][] ws = {java.util.Arrays.copyOfRange(w, 0, c * c), java.util.Arrays.copyOfRange(w, c * c, 2 * c * c),
                java.util.Arrays.copyOfRange(w, 2 * c * c, 3 * c * c)};
        float[][] bs = b == null ? null : new float[][]{java.util.Arrays.copyOfRange(b, 0, c),
                java.util.Arrays.copyOfRange(b, c, 2 * c), java.util.Arrays.copyOfRange(b, 2 * c, 3 * c)};
        Value qkv = Linear.apply(qkvS, x, ws, bs, dim, new long[]{dim, dim, dim}, new float[]{scale, 1f, 1f}, "weight", "bias");
        Heads h = splitHeads(g, qkv, dim, heads);
        Value attn = g.softmax(g.matMul(h.q(), h.kT()), -1);
        Value out = mergeHeads(g, g.matMul(attn, h.v()));
        return Linear.apply(s.scope("proj"), out, dim, dim, true);
    }
}
