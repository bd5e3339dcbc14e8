package org.attnzoo.zoo.family.transnext;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * TransNeXt (Shi, CVPR 2024), as the authors' {@code classification/transnext.py} with its
 * pure-PyTorch aggregated attention ({@code attention_native.py}; the CUDA extension computes the
 * same function). Four stages of overlapping patch embedding (conv + LayerNorm) and blocks of
 * pre-norm attention and a convolutional GLU (Linear → split → depthwise 3×3 on one half, GELU,
 * times the other half → Linear).
 *
 * <p><b>Aggregated attention</b> (stages with {@code sr_ratio > 1}): each query attends, through
 * one softmax, to its k×k neighbourhood (keys zero padded and masked outside the map) and to
 * {@code pool_len} pooled tokens (1×1 conv, GELU, adaptive average pool, LayerNorm, the same kv
 * projection). Queries and keys are L2-normalised; queries get a learned per-head embedding and are
 * scaled by {@code softplus(temperature) · log(local length + pool length)} per head and token.
 * The local branch adds a learned position bias; the pooled branch a continuous position bias
 * from an MLP on log-spaced relative coordinates. The local values are aggregated with the local
 * attention weights plus a "dynamic" term {@code q_norm @ learnable_tokens + learnable_bias}.
 * <b>Full attention</b> (the last stage of micro…base) is the same without the local branch.
 *
 * <p>In the graph: the neighbourhoods are one Gather of per-head rows (normalised keys and values
 * side by side, a zero row for the padding) with a build-time table; the masks, the per-token
 * scale and the local position bias are build-time constants; the continuous position bias MLP
 * runs at build time on the distinct coordinate values (as upstream's {@code torch.unique} table)
 * and a Gather expands the small table per stage; the 1×1 conv + adaptive pooling of the pooled
 * branch run on tokens as MatMuls (the pooling as a constant averaging matrix, exact for
 * overlapping adaptive bins too).
 */
public final class TransNeXt extends FamilyArchitecture<TransNeXt.Config> {

    /**
     * The authors' constructor arguments; {@code windowSize[i] == 0} stands for their {@code None}
     * (full attention stages are those with {@code srRatios[i] == 1}); {@code fixedPoolSize == 0}
     * for None; {@code normEps} is the blocks' and stage norms' LayerNorm epsilon.
     */
    public record Config(int imgSize, int pretrainSize, int inChans, int numClasses, int patchSize, int[] windowSize,
                         int[] embedDims, int[] numHeads, double[] mlpRatios, boolean qkvBias, int[] depths,
                         int[] srRatios, int fixedPoolSize, double normEps) implements ImageConfig {
    }

    private static Config v(int img, int pretrain, int[] win, int[] dims, int[] heads, int[] depths, int[] sr) {
        return new Config(img, pretrain, 3, 1000, 4, win, dims, heads, new double[]{8, 8, 4, 4}, true, depths, sr, 0, 1e-6);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] w = {3, 3, 3, 0}, sr = {8, 4, 2, 1};
        int[] micro = {48, 96, 192, 384}, microH = {2, 4, 8, 16};
        int[] tiny = {72, 144, 288, 576}, tinyH = {3, 6, 12, 24};
        int[] base = {96, 192, 384, 768}, baseH = {4, 8, 16, 32};
        m.put("transnext_micro", v(224, 224, w, micro, microH, new int[]{2, 2, 15, 2}, sr));
        m.put("transnext_tiny", v(224, 224, w, tiny, tinyH, new int[]{2, 2, 15, 2}, sr));
        m.put("transnext_small", v(224, 224, w, tiny, tinyH, new int[]{5, 5, 22, 5}, sr));
        m.put("transnext_base", v(224, 224, w, base, baseH, new int[]{5, 5, 23, 5}, sr));
        m.put("transnext_small_384", v(384, 224, w, tiny, tinyH, new int[]{5, 5, 22, 5}, sr));
        m.put("transnext_base_384", v(384, 224, w, base, baseH, new int[]{5, 5, 23, 5}, sr));
        m.put("transnext_micro_AAAA", v(256, 256, new int[]{3, 3, 3, 3}, micro, microH, new int[]{2, 2, 15, 2}, new int[]{16, 8, 4, 2}));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public TransNeXt(String name, Config cfg, Preprocessing pre) {
        super("transnext", name, cfg, pre);
    }

    /**
     * The authors' eval transform: below 384, resize the short side to {@code size / 0.875} and
     * centre-crop (bicubic); at 384 and above they warp the whole image to size×size without
     * cropping (crop mode "squash", crop 1.0).
     */
    public static TransNeXt variant(String name) {
        Config c = lookup(VARIANTS, "TransNeXt", name);
        Preprocessing p = c.imgSize() >= 384 ? Preprocessing.imagenet(c.imgSize(), 1.0, "bicubic").withCropMode(Preprocessing.SQUASH)
                : Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic");
        return new TransNeXt(name, c, p);
    }

    /**
     * The pre-logits vector (the mean of the last stage's normed tokens, what the head reads) and
     * the four stage maps at strides 4, 8, 16, 32 as the authors' dense-prediction backbone returns
     * them ({@code detection/maskrcnn/transnext_native.py} and {@code segmentation/*}: each stage's
     * tokens after its own {@code norm{i+1}}, the same norms the classifier has, reshaped NCHW).
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDims(), 4);
    }

    /**
     * Another square size, as the authors build TransNeXt for it ({@code img_size} = the new size,
     * {@code pretrain_size} kept, so the continuous position bias MLP is evaluated on the new
     * coordinates, scaled by the pretraining grid; their detection backbone with
     * {@code is_extrapolation=True} does the same): the size must divide by 32 (the tables are for
     * {@code img_size / 2^(i+2)} maps) and leave every aggregated stage a non-empty pool
     * ({@code map / sr_ratio ≥ 1}).
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "TransNeXt's configuration has one image size (square inputs only)", 1);
        int min = 32;
        int fixed = cfg.fixedPoolSize();
        for (int i = 0; i < cfg.depths().length; i++) {
            int sr = cfg.srRatios()[i];
            if (sr > 1 && fixed == 0) min = Math.max(min, sr << (i + 2));
        }
        if (height % 32 != 0 || height < min) {
            throw badSize(height, width, "the position tables are built for stage maps of size/4, /8, /16, /32, so the size must be a multiple of 32"
                    + (min > 32 ? ", and at least " + min + " so that every aggregated stage's pool (map / sr_ratio) is non-empty" : ""),
                    32);
        }
        return new TransNeXt(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    /** Stage {@code i}'s map side as upstream derives it ({@code img_size // 2^(i+2)}). */
    private int side(int i) {
        return cfg.imgSize() >> (i + 2);
    }

    // ------------------------------------------------------------------ forward

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Value x = image;
        Value tokens = null;
        int n = cfg.depths().length;
        Taps taps = Taps.of(g);
        for (int i = 0; i < n; i++) {
            Scope pe = w.scope("patch_embed" + (i + 1));
            int k = i == 0 ? 2 * cfg.patchSize() - 1 : 3, stride = i == 0 ? cfg.patchSize() : 2;
            int cin = Math.toIntExact(x.dim(1)), c = cfg.embedDims()[i];
            x = g.conv2d(x, pe.param("proj.weight", c, cin, k, k), pe.param("proj.bias", c), new int[]{stride, stride},
                    new int[]{k / 2, k / 2, k / 2, k / 2}, new int[]{1, 1}, 1);
            int h = Math.toIntExact(x.dim(2)), wd = Math.toIntExact(x.dim(3));
            if (h != side(i) || wd != side(i)) {
                throw new IllegalArgumentException("TransNeXt stage " + (i + 1) + " map is " + h + "x" + wd + " but the model's tables are for "
                        + side(i) + "x" + side(i) + " (img_size " + cfg.imgSize() + "; use an input size divisible by 32)");
            }
            tokens = g.transpose(g.reshape(x, -1, c, (long) h * wd), 0, 2, 1);
            tokens = LayerNorm.apply(pe.scope("norm"), tokens, c, 1e-5f);
            Stage st = new Stage(i, c, h, wd);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = w.scope("block" + (i + 1), j);
                final Value in = tokens;
                tokens = g.named("block" + (i + 1) + "." + j, () -> block(b, in, st));
            }
            tokens = LayerNorm.apply(w.scope("norm" + (i + 1)), tokens, c, (float) cfg.normEps());
            if (i < n - 1) x = g.reshape(g.transpose(tokens, 0, 2, 1), -1, c, h, wd);
            final Value normed = tokens, nchw = x;
            final boolean last = i == n - 1;
            taps.feature(i, () -> last ? g.reshape(g.transpose(normed, 0, 2, 1), -1, c, h, wd) : nchw);   // after norm{i+1}
        }
        int c = cfg.embedDims()[n - 1];
        Value pooled = g.op1("ReduceMean", new Value[]{tokens}, tokens.dtype(), new long[]{tokens.dim(0), c},
                Attr.ints("axes", 1), Attr.i("keepdims", 0));
        taps.embedding(pooled);                                       // forward_features: x.mean(dim=1)
        Scope head = w.scope("head");
        return g.gemm(pooled, head.param("weight", cfg.numClasses(), c), head.param("bias", cfg.numClasses()), true);
    }

    /** Per-stage facts shared by its blocks, with build-time tables made once per stage. */
    private final class Stage {
        final int i, c, h, w, n, heads, hd;
        final boolean full;
        final int win, poolH, poolW, pool;
        final CpbTable cpb;
        Value cpbIndex, neighbours;
        float[] localMask;     // [N, L], 0 or -inf
        int[] localLength;     // per token

        Stage(int i, int c, int h, int w) {
            this.i = i;
            this.c = c;
            this.h = h;
            this.w = w;
            this.n = h * w;
            this.heads = cfg.numHeads()[i];
            if (c % heads != 0) throw new IllegalArgumentException("dim " + c + " is not divisible by " + heads + " heads");
            this.hd = c / heads;
            int sr = cfg.srRatios()[i];
            this.full = sr == 1;
            this.win = full ? 0 : cfg.windowSize()[i];
            if (!full && win % 2 == 0) throw new IllegalArgumentException("TransNeXt window size must be odd, got " + win);
            int fixed = cfg.fixedPoolSize();
            this.poolH = full ? h : fixed > 0 ? fixed : h / sr;
            this.poolW = full ? w : fixed > 0 ? fixed : w / sr;
            this.pool = poolH * poolW;
            if (pool == 0) throw new IllegalArgumentException("TransNeXt stage " + (i + 1) + ": " + h + "x" + w + " map pooled by " + sr + " is empty");
            int pre = cfg.pretrainSize() >> (i + 2);
            this.cpb = new CpbTable(h, w, poolH, poolW, pre, pre);
            if (!full) buildLocalTables();
        }

        private void buildLocalTables() {
            int l = win * win, r = win / 2;
            long[] idx = new long[n * l];
            localMask = new float[n * l];
            localLength = new int[n];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int t = y * w + x;
                    for (int dy = 0; dy < win; dy++) {
                        for (int dx = 0; dx < win; dx++) {
                            int py = y + dy - r, px = x + dx - r, j = t * l + dy * win + dx;
                            boolean in = py >= 0 && py < h && px >= 0 && px < w;
                            idx[j] = in ? (long) py * w + px : n;
                            localMask[j] = in ? 0f : Float.NEGATIVE_INFINITY;
                            if (in) localLength[t]++;
                        }
                    }
                }
            }
            neighbours = null;
            this.idx = idx;
        }

        long[] idx;

        Value neighbours(Graph g) {
            if (neighbours == null) neighbours = g.intsTensor("stage" + (i + 1) + "_neighbours", idx, (long) n * win * win);
            return neighbours;
        }

        Value cpbIndex(Graph g) {
            if (cpbIndex == null) cpbIndex = g.intsTensor("stage" + (i + 1) + "_cpb_index", cpb.index, n, pool);
            return cpbIndex;
        }
    }

    private Value block(Scope b, Value x, Stage st) {
        Graph g = b.graph();
        float eps = (float) cfg.normEps();
        Value h1 = LayerNorm.apply(b.scope("norm1"), x, st.c, eps);
        Value a = st.full ? fullAttention(b.scope("attn"), h1, st) : aggregatedAttention(b.scope("attn"), h1, st);
        x = g.add(x, a);
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, st.c, eps);
        return g.add(x, convGlu(b.scope("mlp"), h2, st));
    }

    private Value convGlu(Scope s, Value x, Stage st) {
        Graph g = s.graph();
        int hidden = (int) (st.c * cfg.mlpRatios()[st.i]);
        int hid = (int) (2.0 * hidden / 3);
        Value[] parts = g.split(Linear.apply(s.scope("fc1"), x, st.c, 2L * hid, true), 2, hid, hid);
        Value img = g.reshape(g.transpose(parts[0], 0, 2, 1), -1, hid, st.h, st.w);
        Scope dw = s.scope("dwconv.dwconv");
        Value conv = g.conv2d(img, dw.param("weight", hid, 1, 3, 3), dw.param("bias", hid), new int[]{1, 1},
                new int[]{1, 1, 1, 1}, new int[]{1, 1}, hid);
        Value act = g.gelu(g.transpose(g.reshape(conv, -1, hid, st.n), 0, 2, 1));
        return Linear.apply(s.scope("fc2"), g.mul(act, parts[1]), hid, st.c, true);
    }

    // ------------------------------------------------------------------ attention pieces

    /** F.normalize over the last axis: {@code x / max(‖x‖₂, 1e-12)}. */
    private static Value l2normalize(Graph g, Value x) {
        long[] s = x.shape();
        s[s.length - 1] = 1;
        Value norm = g.op1("ReduceL2", new Value[]{x}, x.dtype(), s, Attr.ints("axes", -1), Attr.i("keepdims", 1));
        Value clamped = g.op1("Max", new Value[]{norm, g.constant("eps", new float[]{1e-12f})}, x.dtype(), s);
        return g.div(x, clamped);
    }

    private static double softplus(double t) {
        return t > 20 ? t : Math.log1p(Math.exp(t));
    }

    /** {@code [B, N, C]} → {@code [B, heads, N, hd]}. */
    private static Value heads(Graph g, Value x, int heads, int hd) {
        return g.transpose(g.reshape(x, -1, x.dim(1), heads, hd), 0, 2, 1, 3);
    }

    /** The continuous position bias {@code [heads, N, P]}: the MLP at build time on the distinct coordinates, expanded by a Gather. */
    private Value cpbBias(Scope s, Stage st) {
        Graph g = s.graph();
        float[] table = st.cpb.evaluate(s, st.heads);                                   // [heads, distinct]
        Value t = s.derived("cpb_table", "cpb_fc2(relu(cpb_fc1(coords))) for each distinct relative coordinate, [heads, distinct]",
                table, st.heads, st.cpb.distinct());
        return g.gather(t, st.cpbIndex(g), 1);                                          // [heads, N, P]
    }

    private Value fullAttention(Scope s, Value x, Stage st) {
        Graph g = s.graph();
        int heads = st.heads, hd = st.hd, c = st.c;
        Value qkv = Linear.apply(s.scope("qkv"), x, c, 3L * c, cfg.qkvBias());
        Value all = g.transpose(g.reshape(qkv, -1, st.n, 3L * heads, hd), 0, 2, 1, 3);  // [B, 3 heads, N, hd]
        Value[] p = g.split(all, 1, heads, heads, heads);
        float[] t = s.floats("temperature", heads, 1, 1);
        float[] qe = s.floats("query_embedding", heads, 1, hd);
        double len = Math.log((double) st.n);
        float[] scale = new float[heads], qes = new float[heads * hd];
        for (int h = 0; h < heads; h++) {
            double sc = softplus(t[h]) * len;
            scale[h] = (float) sc;
            for (int d = 0; d < hd; d++) qes[h * hd + d] = (float) (qe[h * hd + d] * sc);
        }
        // (normalize(q) + query_embedding) · softplus(T) · log(N)
        Value q = g.add(g.mul(l2normalize(g, p[0]), s.derived("q_scale", "softplus(temperature) * log(N)", scale, heads, 1, 1)),
                s.derived("query_embedding_scaled", "query_embedding * softplus(temperature) * log(N)", qes, heads, 1, hd));
        Value kT = g.transpose(l2normalize(g, p[1]), 0, 1, 3, 2);
        Value logits = g.add(g.matMul(q, kT), cpbBias(s, st));
        Value o = g.matMul(g.softmax(logits, -1), p[2]);
        Value merged = g.reshape(g.transpose(o, 0, 2, 1, 3), -1, st.n, c);
        return Linear.apply(s.scope("proj"), merged, c, c, true);
    }

    private Value aggregatedAttention(Scope s, Value x, Stage st) {
        Graph g = s.graph();
        int heads = st.heads, hd = st.hd, c = st.c, n = st.n, l = st.win * st.win, pool = st.pool;

        // queries: normalised, then (+ query_embedding) * softplus(T) * log(local length + pool length) per head and token
        Value qn = l2normalize(g, heads(g, Linear.apply(s.scope("q"), x, c, c, cfg.qkvBias()), heads, hd));
        float[] t = s.floats("temperature", heads, 1, 1);
        float[] scale = new float[heads * n];
        for (int h = 0; h < heads; h++) {
            double sp = softplus(t[h]);
            for (int i = 0; i < n; i++) {
                float seq = (float) Math.log((float) st.localLength[i] + pool);   // float32 buffer upstream
                scale[h * n + i] = (float) (sp * seq);
            }
        }
        Value qs = g.mul(g.add(qn, s.param("query_embedding", heads, 1, hd)),
                s.derived("q_scale", "softplus(temperature) * log(local length + pool length), [heads, N, 1]", scale, heads, n, 1));

        // keys/values of the neighbourhoods: a Gather of per-head rows each (a zero row appended for the padding)
        Value[] kvW = linearWeights(s.scope("kv"), c, 2 * c, cfg.qkvBias());
        Value kv = project(g, x, kvW);
        Value[] kvParts = g.split(kv, 2, c, c);
        Value kn = l2normalize(g, g.reshape(kvParts[0], -1, n, heads, hd));
        Value vl = g.reshape(kvParts[1], -1, n, heads, hd);
        Value kWin = neighbourhoods(g, kn, st);                                          // [B, heads, N, L, hd]
        Value vWin = neighbourhoods(g, vl, st);

        float[] rpb = s.floats("relative_pos_bias_local", heads, l);
        float[] localBias = new float[heads * n * l];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n * l; i++) localBias[h * n * l + i] = rpb[h * l + i % l] + st.localMask[i];
        Value qk = g.reshape(g.matMul(g.unsqueeze(qs, 3), g.transpose(kWin, 0, 1, 2, 4, 3)), -1, heads, n, l);   // per token [1, hd] x [hd, L]
        Value attnLocal = g.add(qk,
                s.derived("local_bias", "relative_pos_bias_local + padding mask (-inf), [heads, N, L]", localBias, heads, n, l));

        // pooled tokens: 1x1 conv (as a MatMul on tokens), GELU, adaptive average pool (a constant matrix), LayerNorm
        float[] srW = s.scope("sr").floats("weight", c, c, 1, 1);
        float[] srT = new float[c * c];
        for (int o = 0; o < c; o++) for (int i = 0; i < c; i++) srT[i * c + o] = srW[o * c + i];
        Value sr = g.gelu(g.add(g.matMul(x, s.scope("sr").derived("weight_t", "1x1 conv as [in, out]", srT, c, c)),
                s.scope("sr").param("bias", c)));
        Value pooled = g.matMul(s.derived("pool_matrix", "AdaptiveAvgPool2d as a [P, N] averaging matrix",
                poolMatrix(st.h, st.w, st.poolH, st.poolW), pool, n), sr);               // [B, P, C]
        pooled = LayerNorm.apply(s.scope("norm"), pooled, c, 1e-5f);
        Value[] kvp = g.split(project(g, pooled, kvW), 2, c, c);
        Value kp = l2normalize(g, heads(g, kvp[0], heads, hd));                           // [B, heads, P, hd]
        Value vp = heads(g, kvp[1], heads, hd);
        Value attnPool = g.add(g.matMul(qs, g.transpose(kp, 0, 1, 3, 2)), cpbBias(s, st));

        Value attn = g.softmax(g.concat(3, attnLocal, attnPool), -1);
        Value[] ap = g.split(attn, 3, l, pool);
        Value dyn = g.add(g.add(g.matMul(qn, s.param("learnable_tokens", heads, hd, l)), s.param("learnable_bias", heads, 1, l)), ap[0]);
        Value xLocal = g.reshape(g.matMul(g.unsqueeze(dyn, 3), vWin), -1, heads, n, hd);   // per token [1, L] x [L, hd]
        Value o = g.add(xLocal, g.matMul(ap[1], vp));
        Value merged = g.reshape(g.transpose(o, 0, 2, 1, 3), -1, n, c);
        return Linear.apply(s.scope("proj"), merged, c, c, true);
    }

    /** {@code [B, N, heads, hd]} → each token's k×k neighbourhood {@code [B, heads, N, L, hd]} (zeros outside the map). */
    private static Value neighbourhoods(Graph g, Value x, Stage st) {
        Value rows = g.pad(g.transpose(x, 0, 2, 1, 3), new long[]{0, 0, 0, 0, 0, 0, 1, 0}, 0f);   // [B, heads, N+1, hd]
        return g.reshape(g.gather(rows, st.neighbours(g), 2), -1, st.heads, st.n, (long) st.win * st.win, st.hd);
    }

    /** A Linear's weight ({@code [in, out]}) and bias (or null) as values, to apply more than once. */
    private static Value[] linearWeights(Scope s, int in, int out, boolean bias) {
        float[] w = s.floats("weight", out, in);
        float[] wt = new float[in * out];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) wt[i * out + o] = w[o * in + i];
        Value wv = s.derived("weight", "stored transposed [in, out] for MatMul", wt, in, out);
        return new Value[]{wv, bias ? s.param("bias", out) : null};
    }

    private static Value project(Graph g, Value x, Value[] wb) {
        Value y = g.matMul(x, wb[0]);
        return wb[1] == null ? y : g.add(y, wb[1]);
    }

    /** AdaptiveAvgPool2d from {@code h×w} to {@code ph×pw} as a {@code [ph·pw, h·w]} averaging matrix (PyTorch's bins). */
    static float[] poolMatrix(int h, int w, int ph, int pw) {
        float[] m = org.attnzoo.sdk.nn.Resampling.adaptiveAvgPool(h, w, ph, pw);   // [h·w, ph·pw]
        int n = h * w, p = ph * pw;
        float[] t = new float[p * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < p; j++) t[j * n + i] = m[i * p + j];
        return t;
    }

    /**
     * The relative coordinates of upstream's {@code get_relative_position_cpb} for one stage:
     * queries on the {@code qh×qw} grid, keys at the centres of the adaptive-pool bins of a
     * {@code kh×kw} grid, offsets scaled by {@code 8 / (pretrain side - 1)} and log-spaced
     * ({@code sign(t)·log2(|t|+1)/3}), in float32 as upstream computes its buffers. The row and
     * column offsets are kept as two sorted lists of distinct values; {@link #index} maps each
     * (query, key) pair to its (row value, column value) entry of the MLP's table.
     */
    static final class CpbTable {
        final float[] rows, cols;   // distinct transformed offsets
        final long[] index;         // [N, P]

        CpbTable(int qh, int qw, int kh, int kw, int preH, int preW) {
            if (preH < 2 || preW < 2) throw new IllegalArgumentException("TransNeXt pretrain size gives a " + preH + "x" + preW + " stage map; need at least 2x2");
            float[][] dh = offsets(qh, kh, preH), dw = offsets(qw, kw, preW);
            java.util.TreeMap<Float, Integer> rh = distinct(dh), rw = distinct(dw);
            rows = transformed(rh);
            cols = transformed(rw);
            index = new long[qh * qw * kh * kw];
            int p = kh * kw;
            for (int qy = 0; qy < qh; qy++)
                for (int qx = 0; qx < qw; qx++)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                            index[(qy * qw + qx) * p + ky * kw + kx] = (long) rh.get(dh[qy][ky]) * cols.length + rw.get(dw[qx][kx]);
        }

        int distinct() {
            return rows.length * cols.length;
        }

        /** {@code (q - k_centre) / (pre - 1) * 8} in float32, per (query, key) along one axis. */
        private static float[][] offsets(int q, int k, int pre) {
            float[] centres = new float[k];
            for (int j = 0; j < k; j++) {
                int a = Math.floorDiv(j * q, k), b = -Math.floorDiv(-(j + 1) * q, k);
                float sum = 0f;
                for (int t = a; t < b; t++) sum += t;
                centres[j] = sum / (b - a);
            }
            float[][] d = new float[q][k];
            for (int i = 0; i < q; i++) for (int j = 0; j < k; j++) d[i][j] = ((float) i - centres[j]) / (float) (pre - 1) * 8f;
            return d;
        }

        private static java.util.TreeMap<Float, Integer> distinct(float[][] d) {
            java.util.TreeMap<Float, Integer> m = new java.util.TreeMap<>();
            for (float[] r : d) for (float v : r) m.put(v, 0);
            int i = 0;
            for (Map.Entry<Float, Integer> e : m.entrySet()) e.setValue(i++);
            return m;
        }

        private static float[] transformed(java.util.TreeMap<Float, Integer> m) {
            float[] out = new float[m.size()];
            for (Map.Entry<Float, Integer> e : m.entrySet()) {
                float t = e.getKey();
                float mag = (float) (Math.log(Math.abs(t) + 1f) / Math.log(2.0));
                out[e.getValue()] = Math.signum(t) * mag / 3f;
            }
            return out;
        }

        /** The MLP {@code cpb_fc2(relu(cpb_fc1(coords)))} on every (row, column) pair, in double: {@code [heads, distinct]}. */
        float[] evaluate(Scope s, int heads) {
            int hid = 512;
            float[] w1 = s.scope("cpb_fc1").floats("weight", hid, 2), b1 = s.scope("cpb_fc1").floats("bias", hid);
            float[] w2 = s.scope("cpb_fc2").floats("weight", heads, hid), b2 = s.scope("cpb_fc2").floats("bias", heads);
            int n = distinct();
            float[] out = new float[heads * n];
            double[] a = new double[hid];
            for (int r = 0; r < rows.length; r++) {
                for (int c = 0; c < cols.length; c++) {
                    double u = rows[r], v = cols[c];
                    for (int k = 0; k < hid; k++) a[k] = Math.max(0.0, w1[2 * k] * u + w1[2 * k + 1] * v + b1[k]);
                    for (int h = 0; h < heads; h++) {
                        double acc = b2[h];
                        for (int k = 0; k < hid; k++) acc += w2[h * hid + k] * a[k];
                        out[h * n + r * cols.length + c] = (float) acc;
                    }
                }
            }
            return out;
        }
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.embedDims());
    }
}
