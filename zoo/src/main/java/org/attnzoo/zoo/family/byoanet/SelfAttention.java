package org.attnzoo.zoo.family.byoanet;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;

/**
 * The three self-attention layers of timm's byoanet models, in standard ONNX ops at a fixed
 * spatial size (every block's map size is known when the graph is built).
 *
 * <p><b>Relative logits</b> (halo and bottleneck): upstream computes {@code q · rel[j - i + W - 1]}
 * for each axis with the pad-and-reshape trick of Attention Augmented ConvNets. Here
 * {@code q @ [height_rel; width_rel]ᵀ} is computed once per query ({@code 2(2W-1)} columns) and
 * two Gathers with build-time index tables pick, for each (query, key) pair, the column for its
 * row offset and its column offset: the same numbers, with no padding, reshaping or slicing.
 *
 * <p><b>Halo windows</b>: each b×b query block attends to the (b+2h)² window around it. The
 * key/value map is zero padded by h and the windows of every block are read by one Gather with a
 * build-time table of flat positions (the Unfold upstream does with {@code Tensor.unfold}); the
 * zero padding takes part in the softmax exactly as it does upstream.
 *
 * <p>Folding: {@code dim_head^-0.5} goes into the key rows of the projection (into the query rows
 * when {@code scale_pos_embed}, which scales the positional logits too); a lambda layer's
 * {@code norm_q} and {@code norm_v} BatchNorms go into its qkv projection.
 */
final class SelfAttention {
    private SelfAttention() {
    }

    static Value apply(Scope s, Value x, ByoaNet.SelfAttn sa, int stride) {
        if (stride != 1 && stride != 2) throw new IllegalArgumentException("self-attention stride " + stride);
        return switch (sa.type()) {
            case "halo" -> halo(s, x, sa, stride);
            case "bottleneck" -> bottleneck(s, x, sa, stride);
            case "lambda" -> lambda(s, x, sa, stride);
            default -> throw new IllegalArgumentException("self-attention layer '" + sa.type() + "' (expected halo, bottleneck or lambda)");
        };
    }

    private static int qkHeadDim(ByoaNet.SelfAttn sa, int dimOut) {
        return sa.dimHead() != null ? sa.dimHead() : Layers.makeDivisible(dimOut * sa.qkRatio(), 8) / sa.numHeads();
    }

    /** A 1×1 projection whose rows for which {@code scaled[r]} holds are multiplied by {@code scale}. */
    private static Value projection(Scope s, String name, Value x, int out, boolean bias, boolean[] scaled, double scale, int stride) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1));
        Scope p = s.scope(name);
        float[] w = p.floats("weight", out, in, 1, 1);
        float[] b = bias ? p.floats("bias", out) : new float[out];
        float[] fw = new float[w.length], fb = new float[out];
        for (int r = 0; r < out; r++) {
            double sc = scaled[r] ? scale : 1.0;
            for (int c = 0; c < in; c++) fw[r * in + c] = (float) (w[r * in + c] * sc);
            fb[r] = (float) (b[r] * sc);
        }
        Value wv = p.derived("weight", "attention scale folded into the key (or query) rows", fw, out, in, 1, 1);
        Value bv = bias ? p.derived("bias", null, fb, out) : null;
        return g.conv2d(x, wv, bv, new int[]{stride, stride}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
    }

    /** {@code [height_rel; width_rel]ᵀ} as one {@code [dim, rows_h + rows_w]} matrix. */
    private static Value relTable(Scope pe, int dim, int rowsH, int rowsW) {
        float[] h = pe.floats("height_rel", rowsH, dim);
        float[] w = pe.floats("width_rel", rowsW, dim);
        int l = rowsH + rowsW;
        float[] t = new float[dim * l];
        for (int d = 0; d < dim; d++) {
            for (int r = 0; r < rowsH; r++) t[d * l + r] = h[r * dim + d];
            for (int r = 0; r < rowsW; r++) t[d * l + rowsH + r] = w[r * dim + d];
        }
        return pe.derived("rel_t", "height_rel and width_rel, concatenated and transposed", t, dim, l);
    }

    /**
     * Adds the relative logits to {@code logits} {@code [..., Q, K]}: queries on a {@code qh×qw}
     * grid, keys on a {@code kh×kw} grid, offset index {@code k - q + (k_extent - 1)} per axis.
     */
    private static Value addRelative(Graph g, Value logits, Value q, Value relT, int qh, int qw, int kh, int kw) {
        int rowsH = 2 * kh - 1, l = rowsH + 2 * kw - 1;
        int nq = qh * qw, nk = kh * kw;
        long[] ih = new long[nq * nk], iw = new long[nq * nk];
        for (int qy = 0; qy < qh; qy++) {
            for (int qx = 0; qx < qw; qx++) {
                int m = qy * qw + qx;
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        int j = m * nk + ky * kw + kx;
                        ih[j] = (long) m * l + (kh - 1 + ky - qy);
                        iw[j] = (long) m * l + rowsH + (kw - 1 + kx - qx);
                    }
                }
            }
        }
        Value pos = g.matMul(q, relT);                               // [..., Q, L]
        long[] ps = pos.shape();
        long[] flat = ps.clone();
        flat = java.util.Arrays.copyOf(flat, flat.length - 1);
        flat[flat.length - 1] = (long) nq * l;
        flat[0] = -1;
        Value pf = g.reshape(pos, flat);                              // [..., Q*L]
        int axis = flat.length - 1;
        Value h = g.gather(pf, g.intsTensor("rel_h_index", ih, nq, nk), axis);
        Value w = g.gather(pf, g.intsTensor("rel_w_index", iw, nq, nk), axis);
        return g.add(g.add(logits, h), w);
    }

    // ------------------------------------------------------------------ halo

    static Value halo(Scope s, Value x, ByoaNet.SelfAttn sa, int stride) {
        Graph g = s.graph();
        int dim = Math.toIntExact(x.dim(1));
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3));
        int heads = sa.numHeads();
        if (dim % heads != 0) throw new IllegalArgumentException(dim + " channels do not split into " + heads + " heads");
        int dqk = qkHeadDim(sa, dim), dv = dim / heads;
        int bs = sa.blockSize(), halo = sa.haloSize(), win = bs + 2 * halo;
        if (h % bs != 0 || w % bs != 0) {
            throw new IllegalArgumentException(s.prefix() + ": halo attention needs a feature map that is a multiple of its block size "
                    + bs + ", got " + h + "x" + w + " (choose an input size that keeps every halo stage a multiple of " + bs + ")");
        }
        boolean avgPool = stride > 1 && (sa.avgDown() || bs % stride != 0);
        int bstride = stride > 1 && !avgPool ? stride : 1;
        int bsd = bs / bstride;
        int nbh = h / bs, nbw = w / bs, nb = nbh * nbw, hw = bsd * bsd, kk = win * win;
        double scale = Math.pow(dqk, -0.5);

        boolean[] qRows = new boolean[heads * dqk], kvRows = new boolean[heads * (dqk + dv)];
        java.util.Arrays.fill(qRows, sa.scalePosEmbed());
        for (int r = 0; r < kvRows.length; r++) kvRows[r] = !sa.scalePosEmbed() && r % (dqk + dv) < dqk;
        Value q = projection(s, "q", x, heads * dqk, sa.qkvBias(), qRows, sa.scalePosEmbed() ? scale : 1.0, bstride);
        Value kv = projection(s, "kv", x, heads * (dqk + dv), sa.qkvBias(), kvRows, sa.scalePosEmbed() ? 1.0 : scale, 1);

        // queries: [B, heads*dqk, H', W'] -> [B, heads, blocks, bsd*bsd, dqk]
        Value q7 = g.reshape(q, -1, heads, dqk, nbh, bsd, nbw, bsd);
        Value qb = g.reshape(g.transpose(q7, 0, 1, 3, 5, 4, 6, 2), -1, heads, nb, hw, dqk);

        // keys/values: zero pad by the halo, gather every block's window
        int hp = h + 2 * halo, wp = w + 2 * halo;
        Value kvp = g.pad(kv, new long[]{0, 0, halo, halo, 0, 0, halo, halo}, 0f);
        long[] idx = new long[nb * kk];
        for (int by = 0; by < nbh; by++) {
            for (int bx = 0; bx < nbw; bx++) {
                for (int wy = 0; wy < win; wy++) {
                    for (int wx = 0; wx < win; wx++) {
                        idx[((by * nbw + bx) * win + wy) * win + wx] = (long) (by * bs + wy) * wp + bx * bs + wx;
                    }
                }
            }
        }
        Value windows = g.gather(g.reshape(kvp, -1, heads * (dqk + dv), (long) hp * wp), g.intsTensor("halo_windows", idx, (long) nb * kk), 2);
        Value[] kvs = g.split(g.reshape(windows, -1, heads, dqk + dv, nb, kk), 2, dqk, dv);
        Value kT = g.transpose(kvs[0], 0, 1, 3, 2, 4);               // [B, heads, nb, dqk, kk]
        Value v = g.transpose(kvs[1], 0, 1, 3, 4, 2);                // [B, heads, nb, kk, dv]

        Value logits = g.matMul(qb, kT);                              // [B, heads, nb, hw, kk]
        Value relT = relTable(s.scope("pos_embed"), dqk, 2 * win - 1, 2 * win - 1);
        logits = addRelativeHalo(g, logits, qb, relT, bsd, win);
        Value out = g.matMul(g.softmax(logits, -1), v);               // [B, heads, nb, hw, dv]
        Value o7 = g.reshape(out, -1, heads, nbh, nbw, bsd, bsd, dv);
        Value y = g.reshape(g.transpose(o7, 0, 1, 6, 2, 4, 3, 5), -1, (long) heads * dv, (long) nbh * bsd, (long) nbw * bsd);
        return avgPool ? g.avgPool2d(y, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0, 0, 0}, true, false) : y;
    }

    /** Halo's relative logits: queries on the block's {@code bsd×bsd} grid, keys on the window. */
    private static Value addRelativeHalo(Graph g, Value logits, Value q, Value relT, int bsd, int win) {
        return addRelative(g, logits, q, relT, bsd, bsd, win, win);
    }

    // ------------------------------------------------------------------ bottleneck (BoTNet)

    static Value bottleneck(Scope s, Value x, ByoaNet.SelfAttn sa, int stride) {
        Graph g = s.graph();
        int dim = Math.toIntExact(x.dim(1));
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3)), m = h * w;
        int heads = sa.numHeads();
        int dqk = qkHeadDim(sa, dim), dv = dim / heads;
        int out = 2 * heads * dqk + heads * dv;
        double scale = Math.pow(dqk, -0.5);
        boolean[] rows = new boolean[out];
        for (int r = 0; r < out; r++) rows[r] = sa.scalePosEmbed() ? r < heads * dqk : r >= heads * dqk && r < 2 * heads * dqk;
        Value qkv = g.reshape(projection(s, "qkv", x, out, sa.qkvBias(), rows, scale, 1), -1, out, m);
        Value[] p = g.split(qkv, 1, (long) heads * dqk, (long) heads * dqk, (long) heads * dv);
        Value q = g.transpose(g.reshape(p[0], -1, heads, dqk, m), 0, 1, 3, 2);     // [B, heads, M, dqk]
        Value k = g.reshape(p[1], -1, heads, dqk, m);                             // [B, heads, dqk, M]
        Value v = g.transpose(g.reshape(p[2], -1, heads, dv, m), 0, 1, 3, 2);     // [B, heads, M, dv]
        Value relT = relTable(s.scope("pos_embed"), dqk, 2 * h - 1, 2 * w - 1);
        Value logits = addRelative(g, g.matMul(q, k), q, relT, h, w, h, w);
        Value o = g.matMul(g.softmax(logits, -1), v);                              // [B, heads, M, dv]
        Value y = g.reshape(g.transpose(o, 0, 1, 3, 2), -1, (long) heads * dv, h, w);
        return stride == 2 ? g.avgPool2d(y, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0, 0, 0}, true, false) : y;
    }

    // ------------------------------------------------------------------ lambda

    static Value lambda(Scope s, Value x, ByoaNet.SelfAttn sa, int stride) {
        Graph g = s.graph();
        int dim = Math.toIntExact(x.dim(1));
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3)), m = h * w;
        int heads = sa.numHeads();
        int dk = qkHeadDim(sa, dim), dv = dim / heads;
        int nq = heads * dk, out = nq + dk + dv;

        // qkv projection with norm_q (rows [0, nq)) and norm_v (the last dv rows) folded in
        Scope p = s.scope("qkv");
        float[] wq = p.floats("weight", out, dim, 1, 1);
        float[] bq = sa.qkvBias() ? p.floats("bias", out) : new float[out];
        double[][] nqA = BatchNorm.affine(s.scope("norm_q"), nq, Layers.BN_EPS);
        double[][] nvA = BatchNorm.affine(s.scope("norm_v"), dv, Layers.BN_EPS);
        float[] fw = wq.clone(), fb = bq.clone();
        for (int r = 0; r < out; r++) {
            double sc, sh;
            if (r < nq) {
                sc = nqA[0][r];
                sh = nqA[1][r];
            } else if (r >= nq + dk) {
                sc = nvA[0][r - nq - dk];
                sh = nvA[1][r - nq - dk];
            } else {
                continue;
            }
            for (int c = 0; c < dim; c++) fw[r * dim + c] = (float) (wq[r * dim + c] * sc);
            fb[r] = (float) (bq[r] * sc + sh);
        }
        Value qkv = g.conv2d(x, p.derived("weight", "norm_q / norm_v BatchNorms folded in", fw, out, dim, 1, 1),
                p.derived("bias", null, fb, out), new int[]{1, 1}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        Value[] parts = g.split(g.reshape(qkv, -1, out, m), 1, nq, dk, dv);
        Value qT = g.transpose(g.reshape(parts[0], -1, heads, dk, m), 0, 3, 1, 2);    // [B, M, heads, dk]
        Value k = g.softmax(parts[1], -1);                                            // [B, dk, M]
        Value vT = g.transpose(parts[2], 0, 2, 1);                                    // [B, M, dv]
        Value content = g.unsqueeze(g.matMul(k, vT), 1);                               // [B, 1, dk, dv]

        Value position;                                                               // [B, M, dk, dv]
        if (sa.r() != null) {
            int r = sa.r(), pad = r / 2;
            Scope cl = s.scope("conv_lambda");
            float[] kw = cl.floats("weight", dk, 1, r, r, 1);
            Value img = g.reshape(parts[2], -1, 1, h, w);                              // [B*dv, 1, H, W]
            Value conv = g.conv2d(img, cl.derived("weight2d", "Conv3d (r, r, 1) kernel as a 2-D kernel", kw, dk, 1, r, r),
                    cl.param("bias", dk), new int[]{1, 1}, new int[]{pad, pad, pad, pad}, new int[]{1, 1}, 1);
            position = g.transpose(g.reshape(conv, -1, dv, dk, m), 0, 3, 2, 1);
        } else {
            float[] pe = s.floats("pos_emb", 2 * h - 1, 2 * w - 1, dk);
            int cols = 2 * w - 1;
            float[] e = new float[m * dk * m];                                        // [(i, k), j]
            for (int i = 0; i < m; i++) {
                int yi = i / w, xi = i % w;
                for (int j = 0; j < m; j++) {
                    int yj = j / w, xj = j % w;
                    int base = ((yj - yi + h - 1) * cols + (xj - xi + w - 1)) * dk;
                    for (int c = 0; c < dk; c++) e[(i * dk + c) * m + j] = pe[base + c];
                }
            }
            Value table = s.derived("pos_emb_expanded", "pos_emb gathered at every (query, key) offset, [(M, dk), M]", e, (long) m * dk, m);
            position = g.reshape(g.matMul(table, vT), -1, m, dk, dv);
        }
        Value lam = g.add(position, content);                                         // [B, M, dk, dv]
        Value o = g.matMul(qT, lam);                                                  // [B, M, heads, dv]
        Value y = g.reshape(g.transpose(o, 0, 2, 3, 1), -1, (long) heads * dv, h, w);
        return stride == 2 ? g.avgPool2d(y, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0, 0, 0}, true, false) : y;
    }
}
