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
 * for bottleneck attention {@code q @ height_relᵀ} and {@code q @ width_relᵀ} are computed per
 * query and a Gather with a build-time index table picks, per query, the column for each key row
 * (resp. key column), broadcast over the other key axis in the add to the logits; for halo
 * attention each query row multiplies its own build-time slice of the table (one broadcast MatMul,
 * no gathers). The same numbers, with no padding, reshaping or slicing.
 *
 * <p><b>Halo windows</b>: each b×b query block attends to the (b+2h)² window around it. Keys and
 * values are projected per head on channels-last pixels ({@code [B, heads, H·W, d]}), a zero row
 * is appended, and one Gather with a build-time table reads every block's window (positions in the
 * halo outside the map read the zero row): upstream's zero padding followed by
 * {@code Tensor.unfold}, with the padding taking part in the softmax exactly as it does upstream.
 * Each gathered row is a contiguous head vector, so the Gather copies rows rather than scalars.
 * The relative logits then join the content logits inside one MatMul: queries are extended by
 * their gathered row and column terms, keys by a one-hot of their window row and column, so
 * {@code [q | r_h | r_w] · [k | e_row | e_col] = q·k + r_h[row] + r_w[col]} without two passes of
 * broadcast adds over the {@code [hw, window²]} logits.
 *
 * <p>Folding: {@code dim_head^-0.5} goes into the key rows of the projection (into the query rows
 * when {@code scale_pos_embed}, which scales the positional logits too); a lambda layer's
 * {@code norm_q} and {@code norm_v} BatchNorms go into its qkv projection.
 */
final class SelfAttention {
    /**
     * Halo attention's logits, softmax and value product run in groups of query blocks whose logits
     * take about this many bytes (2 MiB by default: fits a core's share of a typical L2/L3; system
     * property {@value #CHUNK_PROPERTY} changes it at build time).
     */
    static final long DEFAULT_CHUNK_BYTES = 2L << 20;
    static final String CHUNK_PROPERTY = "attnzoo.halo.chunk_bytes";
    /** Logits up to this many chunks run in one piece: below it the extra nodes cost what the cache saves. */
    static final int CHUNK_ABOVE = 4;

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

    /** A relative table {@code [rows, dim]} transposed to {@code [dim, rows]}. */
    private static Value relT(Scope pe, String name, int dim, int rows) {
        float[] t = pe.floats(name, rows, dim);
        float[] tt = new float[dim * rows];
        for (int r = 0; r < rows; r++) for (int d = 0; d < dim; d++) tt[d * rows + r] = t[r * dim + d];
        return pe.derived(name + "_t", name + " transposed", tt, dim, rows);
    }

    /**
     * Adds the relative logits to {@code logits} {@code [..., Q, K]}: queries on a {@code qh×qw}
     * grid, keys on a {@code kh×kw} grid, offset index {@code k - q + (k_extent - 1)} per axis.
     * The row term depends on (query, key row) only and the column term on (query, key column)
     * only, so each is gathered at {@code [Q, kh]} / {@code [Q, kw]} and broadcast over the other
     * key axis.
     */
    private static Value addRelative(Graph g, Value logits, Value q, Scope pe, int dim, int qh, int qw, int kh, int kw) {
        int nq = qh * qw;
        int rh = 2 * kh - 1, rw = 2 * kw - 1;
        long[] ih = new long[nq * kh], iw = new long[nq * kw];
        for (int qy = 0; qy < qh; qy++) {
            for (int qx = 0; qx < qw; qx++) {
                int m = qy * qw + qx;
                for (int ky = 0; ky < kh; ky++) ih[m * kh + ky] = (long) m * rh + (kh - 1 + ky - qy);
                for (int kx = 0; kx < kw; kx++) iw[m * kw + kx] = (long) m * rw + (kw - 1 + kx - qx);
            }
        }
        long[] lead = java.util.Arrays.copyOf(logits.shape(), logits.rank() - 1);   // [..., Q]
        lead[0] = -1;
        Value h = g.gather(g.reshape(g.matMul(q, relT(pe, "height_rel", dim, rh)), flatLast(lead, rh)),
                g.intsTensor("rel_h_index", ih, nq, kh), lead.length - 1);          // [..., Q, kh]
        Value w = g.gather(g.reshape(g.matMul(q, relT(pe, "width_rel", dim, rw)), flatLast(lead, rw)),
                g.intsTensor("rel_w_index", iw, nq, kw), lead.length - 1);          // [..., Q, kw]
        int r = lead.length;
        Value grid = g.reshape(logits, append(lead, kh, kw));
        Value sum = g.add(g.add(grid, g.unsqueeze(h, r + 1)), g.unsqueeze(w, r));
        return g.reshape(sum, append(lead, (long) kh * kw));
    }

    /**
     * The per-query relative logits before broadcasting: {@code [..., Q, kh]} for key rows and
     * {@code [..., Q, kw]} for key columns, queries on a {@code qh×qw} grid. Query row {@code qy}
     * needs table rows {@code kh-1-qy .. 2kh-2-qy}: those slices, stacked per query row as
     * {@code [qh, dim, kh]}, make the row term one broadcast MatMul over the query rows (and the
     * column term the same over query columns, on the transposed grid) — no gathers.
     */
    private static Value[] relativeRows(Graph g, Value q, Scope pe, int dim, int qh, int qw, int kh, int kw) {
        long[] lead = java.util.Arrays.copyOf(q.shape(), q.rank() - 2);        // [..] without (Q, dim)
        lead[0] = -1;
        Value grid = g.reshape(q, append(lead, qh, qw, dim));                   // [.., qh, qw, dim]
        Value hSel = pe.derived("height_rel_slices", "height_rel rows kh-1-qy .. 2kh-2-qy for each query row, [qh, dim, kh]",
                slices(pe.floats("height_rel", 2L * kh - 1, dim), dim, qh, kh), qh, dim, kh);
        Value wSel = pe.derived("width_rel_slices", "width_rel rows kw-1-qx .. 2kw-2-qx for each query column, [qw, dim, kw]",
                slices(pe.floats("width_rel", 2L * kw - 1, dim), dim, qw, kw), qw, dim, kw);
        int r = lead.length;
        Value h = g.reshape(g.matMul(grid, hSel), append(lead, (long) qh * qw, kh));     // [.., qh, qw, kh]
        int[] perm = new int[r + 3];
        for (int i = 0; i < r; i++) perm[i] = i;
        perm[r] = r + 1;
        perm[r + 1] = r;
        perm[r + 2] = r + 2;
        Value cols = g.matMul(g.transpose(grid, perm), wSel);                                 // [.., qw, qh, kw]
        Value w = g.reshape(g.transpose(cols, perm), append(lead, (long) qh * qw, kw));
        return new Value[]{h, w};
    }

    /** {@code out[q][d][k] = table[n - 1 - q + k][d]} for {@code q < nq}, {@code k < n}: per query the table rows it uses, transposed. */
    private static float[] slices(float[] table, int dim, int nq, int n) {
        float[] out = new float[nq * dim * n];
        for (int q = 0; q < nq; q++)
            for (int k = 0; k < n; k++)
                for (int d = 0; d < dim; d++) out[(q * dim + d) * n + k] = table[(n - 1 - q + k) * dim + d];
        return out;
    }

    private static long[] flatLast(long[] lead, int cols) {
        long[] s = lead.clone();
        s[s.length - 1] = s[s.length - 1] * cols;
        return s;
    }

    private static long[] append(long[] lead, long... more) {
        long[] s = java.util.Arrays.copyOf(lead, lead.length + more.length);
        System.arraycopy(more, 0, s, lead.length, more.length);
        return s;
    }

    /**
     * 1×1 projections per head on channels-last pixels: {@code x [B, 1, N, C]} times
     * {@code [heads, C, d]} gives {@code [B, heads, N, d]}. Each head owns {@code headRows}
     * consecutive rows of the upstream weight; they are cut into consecutive parts of
     * {@code parts[i]} rows, one projection per part (a fused kv projection gives keys and values
     * as two tensors, with no Split after it), the derived tensors named with {@code suffixes[i]}.
     * Rows with {@code scaled[r]} are multiplied by {@code scale}. The checkpoint is read once.
     */
    private static Value[] headProjections(Scope s, String name, Value x, int in, int heads, int[] parts, String[] suffixes,
                                           boolean bias, boolean[] scaled, double scale) {
        Graph g = s.graph();
        Scope p = s.scope(name);
        int headRows = 0;
        for (int d : parts) headRows += d;
        float[] w = p.floats("weight", (long) heads * headRows, in, 1, 1);
        float[] b = bias ? p.floats("bias", (long) heads * headRows) : null;
        Value[] out = new Value[parts.length];
        for (int part = 0, offset = 0; part < parts.length; offset += parts[part], part++) {
            int d = parts[part];
            float[] hw = new float[heads * in * d];
            float[] hb = bias ? new float[heads * d] : null;
            for (int hd = 0; hd < heads; hd++) {
                for (int j = 0; j < d; j++) {
                    int r = hd * headRows + offset + j;
                    double sc = scaled[r] ? scale : 1.0;
                    for (int c = 0; c < in; c++) hw[(hd * in + c) * d + j] = (float) (w[r * in + c] * sc);
                    if (bias) hb[hd * d + j] = (float) (b[r] * sc);
                }
            }
            Value y = g.matMul(x, p.derived("weight_heads" + suffixes[part], "1x1 conv weight" + (parts.length > 1
                    ? " rows " + offset + ".." + (offset + d - 1) + " of each head's " + headRows : "") + " as [heads, in, head_dim]"
                    + (scale != 1.0 ? ", attention scale folded in" : ""), hw, heads, in, d));
            out[part] = bias ? g.add(y, p.derived("bias_heads" + suffixes[part], null, hb, heads, 1, d)) : y;
        }
        return out;
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
        int nbh = h / bs, nbw = w / bs, nb = nbh * nbw, hw = bsd * bsd, kk = win * win, n = h * w;
        double scale = Math.pow(dqk, -0.5);
        boolean scaleQ = sa.scalePosEmbed();

        // pixels channels-last, [B, 1, H*W, C]; the query pixels (strided when the block strides) in block order
        Value xcl = g.reshape(g.transpose(x, 0, 2, 3, 1), -1, 1, n, dim);
        long[] qidx = new long[nb * hw];
        for (int by = 0; by < nbh; by++)
            for (int bx = 0; bx < nbw; bx++)
                for (int iy = 0; iy < bsd; iy++)
                    for (int ix = 0; ix < bsd; ix++)
                        qidx[((by * nbw + bx) * bsd + iy) * bsd + ix] = (long) (by * bs + iy * bstride) * w + bx * bs + ix * bstride;
        Value xq = g.gather(xcl, g.intsTensor("halo_query_pixels", qidx, (long) nb * hw), 2);
        boolean[] qRows = new boolean[heads * dqk];
        java.util.Arrays.fill(qRows, scaleQ);
        Value q = g.reshape(headProjections(s, "q", xq, dim, heads, new int[]{dqk}, new String[]{""}, sa.qkvBias(), qRows,
                scaleQ ? scale : 1.0)[0], -1, heads, nb, hw, dqk);

        // keys and values per head, [B, heads, H*W (+1 zero row for the padding), d]; every block's window by one Gather each
        boolean[] kRows = new boolean[heads * (dqk + dv)];
        for (int r = 0; r < kRows.length; r++) kRows[r] = !scaleQ && r % (dqk + dv) < dqk;
        double kScale = scaleQ ? 1.0 : scale;
        Value[] kv = headProjections(s, "kv", xcl, dim, heads, new int[]{dqk, dv}, new String[]{"_k", "_v"}, sa.qkvBias(), kRows, kScale);
        Value kz = g.pad(kv[0], new long[]{0, 0, 0, 0, 0, 0, 1, 0}, 0f);
        Value vz = g.pad(kv[1], new long[]{0, 0, 0, 0, 0, 0, 1, 0}, 0f);
        long[] idx = new long[nb * kk];
        for (int by = 0; by < nbh; by++) {
            for (int bx = 0; bx < nbw; bx++) {
                for (int wy = 0; wy < win; wy++) {
                    for (int wx = 0; wx < win; wx++) {
                        int py = by * bs + wy - halo, px = bx * bs + wx - halo;
                        boolean inside = py >= 0 && py < h && px >= 0 && px < w;
                        idx[((by * nbw + bx) * win + wy) * win + wx] = inside ? (long) py * w + px : n;
                    }
                }
            }
        }

        // one MatMul for content and position: [q | rel_h(q) | rel_w(q)] · [k | onehot(key row) | onehot(key col)]
        long countedBefore = g.macs();
        Value[] rel = relativeRows(g, q, s.scope("pos_embed"), dqk, bsd, bsd, win, win);      // [.., hw, win] each
        Value qAug = g.concat(4, q, rel[0], rel[1]);
        float[] onehot = new float[kk * 2 * win];
        for (int j = 0; j < kk; j++) {
            onehot[j * 2 * win + j / win] = 1f;
            onehot[j * 2 * win + win + j % win] = 1f;
        }
        Value e = g.constant("key_position_onehot", onehot, kk, 2L * win);
        // Logits, softmax and the value product run per group of blocks whose logits fit in cache,
        // so the three passes over them stay out of main memory.
        long chunk = Math.max(1, Long.getLong(CHUNK_PROPERTY, DEFAULT_CHUNK_BYTES));
        double logitBytes = 4.0 * heads * nb * hw * kk;
        int groups = logitBytes <= CHUNK_ABOVE * chunk ? 1 : (int) Math.min(nb, Math.ceil(logitBytes / chunk));
        long[] sizes = new long[groups];
        for (int gi = 0; gi < groups; gi++) sizes[gi] = (long) nb * (gi + 1) / groups - (long) nb * gi / groups;
        Value[] qParts = groups == 1 ? new Value[]{qAug} : g.split(qAug, 2, sizes);
        Value[] outs = new Value[groups];
        for (int gi = 0, b0 = 0; gi < groups; b0 += (int) sizes[gi], gi++) {
            int nbg = (int) sizes[gi];
            Value windowIdx = g.intsTensor("halo_windows", java.util.Arrays.copyOfRange(idx, b0 * kk, (b0 + nbg) * kk), (long) nbg * kk);
            Value kWin = g.reshape(g.gather(kz, windowIdx, 2), -1, heads, nbg, kk, dqk);
            Value vWin = g.reshape(g.gather(vz, windowIdx, 2), -1, heads, nbg, kk, dv);
            Value eFull = g.op1("Expand", new Value[]{e, g.concat(0, g.shapeOf(kWin, 0, 3), g.ints(kk, 2L * win))}, e.dtype(),
                    new long[]{kWin.dim(0), heads, nbg, kk, 2L * win});
            Value kAug = g.concat(4, kWin, eFull);
            Value logits = g.matMul(qParts[gi], g.transpose(kAug, 0, 1, 2, 4, 3));      // [B, heads, nbg, hw, kk]
            outs[gi] = g.matMul(g.softmax(logits, -1), vWin);                          // [B, heads, nbg, hw, dv]
        }
        Value out = groups == 1 ? outs[0] : g.concat(2, outs);                          // [B, heads, nb, hw, dv]
        // The FLOP floor counts the model's arithmetic, not the trick's: per head and block, upstream's
        // q·k, the two relative products (q times a (2·win-1)-row table per axis) and the value product.
        long perHeadBlock = (long) hw * kk * dqk + 2L * hw * (2 * win - 1) * dqk + (long) hw * kk * dv;
        g.addMacs((long) heads * nb * perHeadBlock - (g.macs() - countedBefore));
        Value o7 = g.reshape(out, -1, heads, nbh, nbw, bsd, bsd, dv);
        Value ycl = g.reshape(g.transpose(o7, 0, 2, 4, 3, 5, 1, 6), -1, (long) nbh * bsd, (long) nbw * bsd, (long) heads * dv);
        Value y = g.transpose(ycl, 0, 3, 1, 2);
        return avgPool ? g.avgPool2d(y, new int[]{2, 2}, new int[]{2, 2}, new int[]{0, 0, 0, 0}, true, false) : y;
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
        Value logits = addRelative(g, g.matMul(q, k), q, s.scope("pos_embed"), dqk, h, w, h, w);
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
