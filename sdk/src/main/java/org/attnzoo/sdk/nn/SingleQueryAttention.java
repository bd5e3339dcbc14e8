package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/**
 * Multi-head attention with one query (token 0) over all tokens, as in CrossViT's cross-attention
 * and CaiT-style class attention (VOLO's post network). With a single query the key and value
 * projections need not be applied to every token:
 * <ul>
 *   <li>{@code q_h·(W_k,h x_n + b_k,h) = (W_k,hᵀ q_h)·x_n + q_h·b_k,h}; the second term is the same
 *       for every key, so it cancels in the softmax and {@code b_k} is not needed;</li>
 *   <li>{@code Σ_n a_n (W_v,h x_n + b_v,h) = W_v,h (Σ_n a_n x_n) + b_v,h} because the weights sum to 1.</li>
 * </ul>
 * The attention is computed against the (normalised) tokens themselves: two thin MatMuls of
 * {@code N×C} per head instead of an {@code N×C×2C} key/value projection.
 */
public final class SingleQueryAttention {
    private SingleQueryAttention() {
    }

    /**
     * Returns the heads' outputs merged, {@code [B, 1, dim]}, before the output projection.
     *
     * @param xn     tokens {@code [B, N, dim]}; token 0 is the query
     * @param wq     query weight {@code [dim, dim]} (PyTorch layout), {@code bq} its bias or null
     * @param wk     key weight {@code [dim, dim]} (its bias is not needed)
     * @param wv     value weight {@code [dim, dim]}, {@code bv} its bias or null
     * @param names  scope and local names under which the rearranged weights are stored
     */
    public static Value apply(Value xn, int dim, int heads, float[] wq, float[] bq, float[] wk, float[] wv, float[] bv,
                              Scope names, String qName, String kName, String vName) {
        Graph g = names.graph();
        int hd = dim / heads, n = Math.toIntExact(xn.dim(1));
        float scale = (float) Math.pow(hd, -0.5);
        Value q0 = g.slice(xn, 1, 0, 1);
        Value q = Linear.apply(names, q0, new float[][]{wq}, bq == null ? null : new float[][]{bq}, dim, new long[]{dim},
                new float[]{scale}, qName + ".weight", qName + ".bias");
        q = g.reshape(q, -1, heads, 1, hd);
        // u_h = q_h W_k,h : [B, H, 1, C]
        Value u = g.matMul(q, names.derived(kName + ".weight", "key weight by head [H, d, C], applied to the query", wk, heads, hd, dim));
        Value xs = g.unsqueeze(xn, 1); // [B, 1, N, C]
        Value logits = g.matMul(xs, g.reshape(u, -1, heads, dim, 1)); // [B, H, N, 1]
        Value attn = g.softmax(g.reshape(logits, -1, heads, 1, n), -1);
        Value mixed = g.matMul(attn, xs); // [B, H, 1, C]
        float[] wvT = new float[dim * dim];
        for (int h = 0; h < heads; h++) {
            for (int e = 0; e < hd; e++) {
                for (int k = 0; k < dim; k++) wvT[(h * dim + k) * hd + e] = wv[(h * hd + e) * dim + k];
            }
        }
        Value v = g.matMul(mixed, names.derived(vName + ".weight", "value weight per head, transposed [H, C, d], applied after the weighted sum", wvT, heads, dim, hd));
        if (bv != null) v = g.add(v, names.derived(vName + ".bias", "value bias as [H, 1, d]", bv, heads, 1, hd));
        return g.reshape(v, -1, 1, dim); // [B, H, 1, d] is laid out as [B, 1, H·d]
    }
}
