package org.attnzoo.zoo.family.volo;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.ShapeException;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Mlp;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.sdk.nn.SingleQueryAttention;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * VOLO (Yuan et al., TPAMI 2022): a conv stem, outlooker stages (outlook attention: every
 * location predicts, from the pooled feature at its window, a k²×k² attention map that mixes
 * the k×k window of values; overlapping windows are summed back), transformer stages,
 * CaiT-style class-attention blocks and the token-labelling head, which at inference adds
 * {@code 0.5 · max over tokens} of the auxiliary per-token logits to the class-token logits.
 * Weight names follow timm's {@code volo.py} (the same as sail-sg/volo's).
 *
 * <p>Unfold and fold are Gathers with static index tables (a zero row stands in for padding);
 * the fold gathers, for each output position, the at most {@code ceil(k/s)²} window entries that
 * land on it and sums them. Build-time folding: BatchNorm into the stem convs, the attention
 * scale into the outlook-attention logits and query weights, the 2×2 downsampling conv into a
 * MatMul over space-to-depth tokens, the class attention's key/value projections into its single
 * query (see {@link SingleQueryAttention}). Tokens stay {@code [B, H·W, C]} in row-major order.
 */
public final class Volo extends FamilyArchitecture<Volo.Config> {

    /** timm's VOLO constructor arguments ({@code postLayers}: the number of 'ca' blocks). */
    public record Config(int imgSize, int inChans, int numClasses, String globalPool, int patchSize, int stemHiddenDim,
                         int[] layers, int[] embedDims, int[] numHeads, boolean[] downsamples, boolean[] outlookAttention,
                         double[] mlpRatios, boolean qkvBias, int postLayers, boolean useAuxHead, int poolingScale,
                         int outlookKernel, int outlookPadding, int outlookStride) implements ImageConfig {

        /** The parameter count, from the configuration alone (equals timm's for every variant). */
        public long parameterCount() {
            long n = 0, hid = stemHiddenDim, c0 = embedDims[0];
            n += hid * inChans * 49 + 2 * hid + 2 * (hid * hid * 9 + 2 * hid); // stem convs + BN affine
            int k = patchSize / 2;
            n += c0 * hid * k * k + c0;
            int grid = imgSize / patchSize / poolingScale;
            long cl = embedDims[embedDims.length - 1];
            n += (long) grid * grid * cl;
            for (int i = 0; i < layers.length; i++) {
                long c = embedDims[i], h = (long) (c * mlpRatios[i]);
                long mlp = c * h + h + h * c + c, norms = 4 * c;
                long attn = outlookAttention[i]
                        ? c * c + (qkvBias ? c : 0) + c * (long) Math.pow(outlookKernel, 4) * numHeads[i] + (long) Math.pow(outlookKernel, 4) * numHeads[i] + c * c + c
                        : 3 * c * c + (qkvBias ? 3 * c : 0) + c * c + c;
                n += layers[i] * (norms + attn + mlp);
                if (downsamples[i]) n += embedDims[i + 1] * c * 4 + embedDims[i + 1];
            }
            if (postLayers > 0) {
                long c = cl, h = (long) (c * mlpRatios[mlpRatios.length - 1]);
                n += postLayers * (4 * c + 3 * c * c + (qkvBias ? 3 * c : 0) + c * c + c + c * h + h + h * c + c);
                n += c;
            }
            if (useAuxHead) n += cl * numClasses + numClasses;
            n += 2 * cl + cl * numClasses + numClasses;
            return n;
        }
    }

    private static Config cfg(int img, int[] layers, int[] dims, int[] heads, double mlp, int stemHidden) {
        return new Config(img, 3, 1000, "token", 8, stemHidden, layers, dims, heads,
                new boolean[]{true, false, false, false}, new boolean[]{true, false, false, false},
                new double[]{mlp, mlp, mlp, mlp}, false, 2, true, 2, 3, 1, 2);
    }

    /** Every VOLO variant timm registers. */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] d1L = {4, 4, 8, 2}, d2L = {6, 4, 10, 4}, d34L = {8, 8, 16, 4}, d5L = {12, 12, 20, 4};
        int[] d1D = {192, 384, 384, 384}, d23D = {256, 512, 512, 512}, d45D = {384, 768, 768, 768};
        int[] d1H = {6, 12, 12, 12}, d23H = {8, 16, 16, 16}, d45H = {12, 16, 16, 16};
        m.put("volo_d1_224", cfg(224, d1L, d1D, d1H, 3, 64));
        m.put("volo_d1_384", cfg(384, d1L, d1D, d1H, 3, 64));
        m.put("volo_d2_224", cfg(224, d2L, d23D, d23H, 3, 64));
        m.put("volo_d2_384", cfg(384, d2L, d23D, d23H, 3, 64));
        m.put("volo_d3_224", cfg(224, d34L, d23D, d23H, 3, 64));
        m.put("volo_d3_448", cfg(448, d34L, d23D, d23H, 3, 64));
        m.put("volo_d4_224", cfg(224, d34L, d45D, d45H, 3, 64));
        m.put("volo_d4_448", cfg(448, d34L, d45D, d45H, 3, 64));
        m.put("volo_d5_224", cfg(224, d5L, d45D, d45H, 4, 128));
        m.put("volo_d5_448", cfg(448, d5L, d45D, d45H, 4, 128));
        m.put("volo_d5_512", cfg(512, d5L, d45D, d45H, 4, 128));
        VARIANTS = java.util.Collections.unmodifiableMap(m);
    }

    private static final float EPS = 1e-5f;

    public Volo(String name, Config cfg, Preprocessing pre) {
        super("volo", name, cfg, pre);
    }

    /** timm's pretrained cfg: bicubic; crop 0.96 at 224, 1.0 at 384 and d3 448, 1.15 for d4/d5 at 448/512. */
    public static Volo variant(String name) {
        Config c = lookup(VARIANTS, "VOLO", name);
        double crop = c.imgSize() == 224 ? 0.96 : (c.imgSize() == 384 || name.equals("volo_d3_448")) ? 1.0 : 1.15;
        return new Volo(name, c, Preprocessing.imagenet(c.imgSize(), crop, "bicubic"));
    }


    /**
     * timm's feature_info: one map per stage, the stage's last block output (before any downsample
     * that follows it), at stride patchSize, doubled after each downsample; the embedding is
     * forward_head(pre_logits=True): the normed class token ({@code global_pool 'token'}) or the
     * normed tokens' mean ({@code 'avg'}), the vector {@code head} reads (the aux head's token
     * maximum is not part of it).
     */
    @Override
    public Backbone backbone() {
        int n = cfg.layers().length;
        int[] r = new int[n];
        int red = cfg.patchSize();
        for (int i = 0; i < n; i++) {
            r[i] = red;
            if (cfg.downsamples()[i]) red *= 2;
        }
        return Backbone.of(cfg.embedDims()[n - 1], cfg.embedDims(), r);
    }

    /** Card size only: the absolute {@code pos_embed} table has one grid, which timm's VOLO does not resize. */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        int grid = cfg.imgSize() / cfg.patchSize() / cfg.poolingScale();
        throw new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": VOLO's absolute position table pos_embed is "
                + grid + "x" + grid + " tokens, which only " + cfg.imgSize() + "x" + cfg.imgSize() + " inputs meet (timm does not resize it)");
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Taps taps = Taps.of(g);
        Value x = g.named("patch_embed", () -> stem(g, w.scope("patch_embed"), image));
        int side = Math.toIntExact(x.dim(2));
        int c = Math.toIntExact(x.dim(1));
        x = g.transpose(g.reshape(x, -1, c, (long) side * side), 0, 2, 1); // [B, HW, C]
        int[] hw = {side, side};
        int net = 0;
        int[] dims = cfg.embedDims();
        for (int i = 0; i < cfg.layers().length; i++) {
            if (net == 2) x = addPosEmbed(g, w, x, hw);
            final int stage = i;
            for (int j = 0; j < cfg.layers()[i]; j++) {
                Scope b = w.scope("network." + net + "." + j);
                final Value in = x;
                final int[] grid = hw.clone();
                x = g.named("network." + net + "." + j, () -> cfg.outlookAttention()[stage]
                        ? outlooker(b, in, dims[stage], cfg.numHeads()[stage], cfg.mlpRatios()[stage], grid)
                        : transformer(b, in, dims[stage], cfg.numHeads()[stage], cfg.mlpRatios()[stage]));
            }
            final Value out = x;
            final int[] grid = hw.clone();
            taps.feature(i, () -> g.reshape(g.transpose(out, 0, 2, 1), -1, dims[stage], grid[0], grid[1]));   // timm: network.<stage end>
            net++;
            if (cfg.downsamples()[i]) {
                if (net == 2) x = addPosEmbed(g, w, x, hw);
                x = downsample(w.scope("network", net).scope("proj"), x, dims[i], dims[i + 1], hw);
                hw = new int[]{hw[0] / 2, hw[1] / 2};
                net++;
            }
        }
        long cl = dims[dims.length - 1];
        if (cfg.postLayers() > 0) {
            Value cls = w.param("cls_token", 1, 1, cl);
            x = g.concat(1, g.expandBatch(cls, x), x);
            for (int i = 0; i < cfg.postLayers(); i++) {
                Scope b = w.scope("post_network", i);
                final Value in = x;
                x = g.named("post_network." + i, () -> classBlock(b, in, Math.toIntExact(cl), cfg.numHeads()[cfg.numHeads().length - 1],
                        cfg.mlpRatios()[cfg.mlpRatios().length - 1]));
            }
        }
        x = LayerNorm.apply(w.scope("norm"), x, cl, EPS);
        Value pooled = switch (cfg.globalPool()) {
            case "token" -> g.select(x, 1, 0);
            case "avg" -> g.reduceMean(x, false, 1);
            default -> throw new IllegalArgumentException("global_pool '" + cfg.globalPool() + "' gives no logits");
        };
        taps.embedding(pooled);                             // timm forward_head(pre_logits=True)
        Value out = Linear.apply(w.scope("head"), pooled, cl, cfg.numClasses(), true);
        if (cfg.useAuxHead()) {
            // token labelling at inference: head(cls) + 0.5 · max_n aux_head(x_n), n over tokens 1..
            Scope aux = w.scope("aux_head");
            float[] aw = aux.floats("weight", cfg.numClasses(), cl);
            float[] ab = aux.floats("bias", cfg.numClasses());
            for (int i = 0; i < aw.length; i++) aw[i] *= 0.5f;
            for (int i = 0; i < ab.length; i++) ab[i] *= 0.5f;
            Value tokens = g.slice(x, 1, 1, Long.MAX_VALUE);
            Value a = Linear.apply(aux, tokens, new float[][]{aw}, null, cl, new long[]{cfg.numClasses()}, null, "weight", "weight.unused");
            // max_n (0.5·W x_n) + 0.5·b: the bias is the same for every token, so it is added after the max
            out = g.add(out, g.add(g.reduceMax(a, false, 1), aux.derived("bias", "aux_head bias × 0.5", ab, cfg.numClasses())));
        }
        return out;
    }

    private Value addPosEmbed(Graph g, Scope w, Value x, int[] hw) {
        long c = x.dim(2);
        int grid = cfg.imgSize() / cfg.patchSize() / cfg.poolingScale();
        float[] pos = w.floats("pos_embed", 1, grid, grid, c);
        if (grid != hw[0] || grid != hw[1]) {
            throw new ShapeException("VOLO pos_embed is " + grid + "×" + grid + " but the tokens are " + hw[0] + "×" + hw[1]);
        }
        return g.add(x, w.derived("pos_embed", "as [1, H·W, C]", pos, 1, (long) grid * grid, c));
    }

    /** Conv stem (BatchNorm folded into the convs) and the patch projection: NCHW. */
    private Value stem(Graph g, Scope s, Value image) {
        int hid = cfg.stemHiddenDim();
        Value x = convBn(g, s.scope("conv"), 0, 1, image, hid, cfg.inChans(), 7, 2, 3);
        x = convBn(g, s.scope("conv"), 3, 4, x, hid, hid, 3, 1, 1);
        x = convBn(g, s.scope("conv"), 6, 7, x, hid, hid, 3, 1, 1);
        int k = cfg.patchSize() / 2;
        Scope p = s.scope("proj");
        long c0 = cfg.embedDims()[0];
        return g.conv2d(x, p.param("weight", c0, hid, k, k), p.param("bias", c0), new int[]{k, k}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
    }

    /** Conv (no bias) + BatchNorm (eval) + ReLU, the BatchNorm folded into the conv's weight and bias. */
    private static Value convBn(Graph g, Scope seq, int conv, int bn, Value x, int out, int in, int k, int stride, int pad) {
        return g.relu(org.attnzoo.sdk.nn.BatchNorm.convFolded(seq.scope(Integer.toString(conv)), seq.scope(Integer.toString(bn)), x, out, k, stride, pad, 1,
                1, false, 1e-5));
    }

    /** 2×2 stride-2 conv on tokens {@code [B, HW, C]}: space-to-depth, then one MatMul. */
    private static Value downsample(Scope s, Value x, int in, int out, int[] hw) {
        Graph g = s.graph();
        int h = hw[0], w = hw[1];
        if (h % 2 != 0 || w % 2 != 0) throw new ShapeException("VOLO downsample needs an even grid, got " + h + "×" + w);
        float[] wt = s.floats("weight", out, in, 2, 2);
        // row (a, b, c) of the [4·in, out] matrix: input channel c at offset (a, b) in the 2×2 window
        float[] m = new float[4 * in * out];
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < in; c++) {
                for (int a = 0; a < 2; a++) {
                    for (int b = 0; b < 2; b++) m[((a * 2 + b) * in + c) * out + o] = wt[((o * in + c) * 2 + a) * 2 + b];
                }
            }
        }
        Value t = g.reshape(x, -1, h / 2, 2, w / 2, 2, in);
        t = g.transpose(t, 0, 1, 3, 2, 4, 5);
        t = g.reshape(t, -1, (long) (h / 2) * (w / 2), 4L * in);
        Value y = g.matMul(t, s.derived("weight", "2×2 conv as [4·in, out] over (row, col, channel) of each window", m, 4L * in, out));
        return g.add(y, s.param("bias", out));
    }

    private Value transformer(Scope b, Value x, int c, int heads, double mlpRatio) {
        Graph g = b.graph();
        Value a = Attention.mhsa(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), x, c, EPS), c, heads, cfg.qkvBias());
        Value y = g.add(x, a);
        long hidden = (long) (c * mlpRatio);
        return g.add(y, Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), y, c, EPS), c, hidden, c));
    }

    private Value outlooker(Scope b, Value x, int c, int heads, double mlpRatio, int[] hw) {
        Graph g = b.graph();
        Value a = outlookAttention(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), x, c, EPS), c, heads, hw);
        Value y = g.add(x, a);
        long hidden = (long) (c * mlpRatio);
        return g.add(y, Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), y, c, EPS), c, hidden, c));
    }

    /** Outlook attention on tokens {@code [B, H·W, C]} (row-major grid {@code hw}). */
    private Value outlookAttention(Scope s, Value x, int c, int heads, int[] hw) {
        Graph g = s.graph();
        int k = cfg.outlookKernel(), pad = cfg.outlookPadding(), st = cfg.outlookStride();
        int kk = k * k, hd = c / heads;
        int H = hw[0], W = hw[1];
        int h = (H + st - 1) / st, w = (W + st - 1) / st, n = h * w;
        float scale = (float) Math.pow(hd, -0.5);

        // values, unfolded: [B, heads, HW (+ zero row), d] gathered to [B, heads, n, k², d]
        Value v = Linear.apply(s.scope("v"), x, c, c, cfg.qkvBias());
        v = g.transpose(g.reshape(v, -1, (long) H * W, heads, hd), 0, 2, 1, 3);
        v = g.pad(v, new long[]{0, 0, 0, 0, 0, 0, 1, 0}, 0f);
        v = g.gather(v, g.intsTensor("unfold_index", unfoldIndex(H, W, k, pad, st), n, kk), 2);

        // attention weights from the stride×stride average of x at each window: [B, heads, n, k², k²]
        Value pooled = avgPool(g, x, H, W, st, c);
        Scope as = s.scope("attn");
        long ao = (long) kk * kk * heads;
        Value attn = Linear.apply(as, pooled, new float[][]{as.floats("weight", ao, c)}, new float[][]{as.floats("bias", ao)}, c,
                new long[]{ao}, new float[]{scale}, "weight", "bias");
        attn = g.transpose(g.reshape(attn, -1, n, heads, kk, kk), 0, 2, 1, 3, 4);
        attn = g.softmax(attn, -1);

        // weighted windows, folded back (overlaps summed): [B, heads, HW, d]
        Value o = g.reshape(g.matMul(attn, v), -1, heads, (long) n * kk, hd);
        o = g.pad(o, new long[]{0, 0, 0, 0, 0, 0, 1, 0}, 0f);
        int[] foldCount = new int[1];
        long[] fold = foldIndex(H, W, k, pad, st, foldCount);
        o = g.gather(o, g.intsTensor("fold_index", fold, (long) H * W, foldCount[0]), 2);
        o = g.reduceSum(o, false, 3);
        o = g.reshape(g.transpose(o, 0, 2, 1, 3), -1, (long) H * W, c);
        return Linear.apply(s.scope("proj"), o, c, c, true);
    }

    /** {@code AvgPool2d(st, st, ceil_mode=True)} of tokens {@code [B, HW, C]}, as tokens {@code [B, n, C]}. */
    private static Value avgPool(Graph g, Value x, int H, int W, int st, int c) {
        if (st == 1) return x;
        int h = (H + st - 1) / st, w = (W + st - 1) / st;
        if (H % st == 0 && W % st == 0) {
            Value t = g.reshape(x, -1, h, st, w, st, c);
            return g.reshape(g.reduceMean(t, false, 2, 4), -1, (long) h * w, c);
        }
        // partial windows at the edge average their valid elements only (ceil_mode, no padding)
        Value t = g.reshape(g.transpose(x, 0, 2, 1), -1, c, H, W);
        t = g.avgPool2d(t, new int[]{st, st}, new int[]{st, st}, new int[]{0, 0, 0, 0}, false, true);
        return g.transpose(g.reshape(t, -1, c, (long) h * w), 0, 2, 1);
    }

    /** For window (i, j) and offset (a, b): the source position, or H·W (the zero row) in the padding. */
    static long[] unfoldIndex(int H, int W, int k, int pad, int st) {
        int h = (H + st - 1) / st, w = (W + st - 1) / st;
        long[] idx = new long[h * w * k * k];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                for (int a = 0; a < k; a++) {
                    for (int b = 0; b < k; b++) {
                        int r = i * st - pad + a, q = j * st - pad + b;
                        idx[((i * w + j) * k + a) * k + b] = (r >= 0 && r < H && q >= 0 && q < W) ? (long) r * W + q : (long) H * W;
                    }
                }
            }
        }
        return idx;
    }

    /**
     * For each output position, the flat indices {@code window·k² + offset} of the window entries that
     * land on it (F.fold), padded with the zero row {@code n·k²}; {@code count[0]} gets the row length.
     */
    static long[] foldIndex(int H, int W, int k, int pad, int st, int[] count) {
        int h = (H + st - 1) / st, w = (W + st - 1) / st;
        java.util.List<java.util.List<Long>> per = new java.util.ArrayList<>();
        for (int p = 0; p < H * W; p++) per.add(new java.util.ArrayList<>());
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                for (int a = 0; a < k; a++) {
                    for (int b = 0; b < k; b++) {
                        int r = i * st - pad + a, q = j * st - pad + b;
                        if (r >= 0 && r < H && q >= 0 && q < W) per.get(r * W + q).add((long) ((i * w + j) * k + a) * k + b);
                    }
                }
            }
        }
        int m = 1;
        for (var l : per) m = Math.max(m, l.size());
        long zero = (long) h * w * k * k;
        long[] idx = new long[H * W * m];
        for (int p = 0; p < H * W; p++) {
            var l = per.get(p);
            for (int t = 0; t < m; t++) idx[p * m + t] = t < l.size() ? l.get(t) : zero;
        }
        count[0] = m;
        return idx;
    }

    /** CaiT-style class block: the class token attends over all tokens, then its own MLP. */
    private Value classBlock(Scope b, Value x, int c, int heads, double mlpRatio) {
        Graph g = b.graph();
        Scope a = b.scope("attn");
        Value xn = LayerNorm.apply(b.scope("norm1"), x, c, EPS);
        float[] wq = a.scope("q").floats("weight", c, c);
        float[] bq = cfg.qkvBias() ? a.scope("q").floats("bias", c) : null;
        float[] kv = a.scope("kv").floats("weight", 2L * c, c);
        float[] kvb = cfg.qkvBias() ? a.scope("kv").floats("bias", 2L * c) : null;
        float[] wk = java.util.Arrays.copyOfRange(kv, 0, c * c), wv = java.util.Arrays.copyOfRange(kv, c * c, 2 * c * c);
        float[] bv = kvb == null ? null : java.util.Arrays.copyOfRange(kvb, c, 2 * c);
        Value merged = SingleQueryAttention.apply(xn, c, heads, wq, bq, wk, wv, bv, a, "q", "kv.k", "kv.v");
        Value cls = g.add(g.slice(x, 1, 0, 1), Linear.apply(a.scope("proj"), merged, c, c, true));
        long hidden = (long) (c * mlpRatio);
        cls = g.add(cls, Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), cls, c, EPS), c, hidden, c));
        return g.concat(1, cls, g.slice(x, 1, 1, Long.MAX_VALUE));
    }
}
