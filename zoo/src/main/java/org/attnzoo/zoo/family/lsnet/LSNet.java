package org.attnzoo.zoo.family.lsnet;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BnLinearHead;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.sdk.nn.ConvBn;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LSNet (Wang et al., CVPR 2025), as the authors' {@code model/lsnet.py}: a three-conv stem
 * (stride 8), four stages joined by depthwise-stride-2 + pointwise Conv-BNs, and blocks that
 * alternate a RepVGG-style depthwise mixer with squeeze-excite and an "LS" mixer — LSConv
 * (large-kernel perception → per-pixel small-kernel aggregation) in stages 1–3, multi-head
 * attention with learned offset biases in stage 4 — each followed by a residual Conv-BN FFN.
 *
 * <p><b>SKA</b> (the authors' Triton op): {@code out[c] = Σ_taps x[c, p + tap] · w[c mod wc, tap, p]}
 * over a 3×3 neighbourhood, zero padded, with per-pixel weights {@code w} from the LKP branch
 * (1×1, 7×7 depthwise, 1×1, a 1×1 conv to {@code 9·wc} channels and GroupNorm). Here the nine
 * shifted copies of {@code x} come from one depthwise Conv with one-hot 3×3 kernels (exact copies,
 * not counted as multiply-adds), viewed as {@code [B, C/wc, wc, 9, H, W]} so the weights broadcast
 * over the channel groups; a Mul and a ReduceSum over the taps finish it. GroupNorm is an
 * InstanceNormalization over each group of nine channels plus the per-channel affine.
 *
 * <p>Build-time folding: every Conv-BN; the RepVGG mixer {@code x + dw3x3(x) + dw1x1(x)} into one
 * depthwise 3×3; the attention scale into the query's depthwise conv; the attention biases
 * gathered into a {@code [heads, N, N]} constant; BatchNorm1d + Linear heads (and the distillation
 * head, averaged at eval as upstream) into one Gemm.
 */
public final class LSNet extends FamilyArchitecture<LSNet.Config> {

    /** The authors' LSNet constructor arguments. */
    public record Config(int imgSize, int patchSize, int inChans, int numClasses, int[] embedDim, int[] keyDim,
                         int[] depth, int[] numHeads, boolean distillation) implements ImageConfig {
    }

    private static Config v(int[] dims, int[] depth, boolean distill) {
        return new Config(224, 8, 3, 1000, dims, new int[]{16, 16, 16, 16}, depth, new int[]{3, 3, 3, 4}, distill);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] t = {64, 128, 256, 384}, s = {96, 192, 320, 448}, b = {128, 256, 384, 512};
        int[] td = {0, 2, 8, 10}, sd = {1, 2, 8, 10}, bd = {4, 6, 8, 10};
        m.put("lsnet_t", v(t, td, false));
        m.put("lsnet_s", v(s, sd, false));
        m.put("lsnet_b", v(b, bd, false));
        m.put("lsnet_t_distill", v(t, td, true));
        m.put("lsnet_s_distill", v(s, sd, true));
        m.put("lsnet_b_distill", v(b, bd, true));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    static final int SKA_GROUPS = 8, SKS = 3, LKS = 7;

    public LSNet(String name, Config cfg, Preprocessing pre) {
        super("lsnet", name, cfg, pre);
    }

    /** The authors' eval transform: resize to 256/224 of the size (bicubic), centre crop. */
    public static LSNet variant(String name) {
        Config c = lookup(VARIANTS, "LSNet", name);
        return new LSNet(name, c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
    }

    @Override
    public void declareIgnorable(Weights w) {
        w.ignoreUnused(k -> k.endsWith(".attention_bias_idxs"));
    }

    // ------------------------------------------------------------------ backbone

    /**
     * The pre-logits vector (the pooled last map, which the head's BatchNorm1d + Linear and
     * head_dist read) and the four stage maps at strides 8, 16, 32, 64: the outputs of blocks1..4,
     * the tensors the authors' dense-prediction backbone returns ({@code detection/model/lsnet.py},
     * {@code segmentation/model/lsnet.py}; each later stage after its downsampling, no extra norms;
     * an empty stage returns its input).
     *
     * <p>One difference from that class, in stage 4 only: it builds every attention bias table
     * for a 14×14 map (resizing a checkpoint's table bicubically to 14×14 when it loads) and resizes
     * the gathered {@code [heads, 196, 196]} bias bicubically to the actual {@code N×N} on each
     * forward; here the bias is the classification model's, the checkpoint's table gathered for the
     * actual map. The two agree where the stage-4 map is 1×1 (the parity fixtures) and differ
     * otherwise; feature maps 0–2 are the same in both.
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDim(), 8);                 // the stem is three stride-2 convs whatever patch_size says
    }

    /** The stage-4 map side the authors' model derives from {@code img_size} (the size of its attention bias table). */
    private int tableSide(int imgSize) {
        int r = imgSize / cfg.patchSize();
        if (r < 1) return 0;                                              // no map at all
        for (int i = 1; i < cfg.embedDim().length; i++) r = (r - 1) / 2 + 1;
        return r;
    }

    /** The stage-4 map side the convolutions give at an input size (each stride-2 conv rounds up). */
    private int mapSide(int size) {
        int r = size;
        for (int i = 0; i < 3; i++) r = (r + 1) / 2;                     // the stride-8 stem
        for (int i = 1; i < cfg.embedDim().length; i++) r = (r + 1) / 2;
        return r;
    }

    /**
     * Another square size only where the weights fit unchanged: the stage-4 attention bias holds one
     * entry per (|dy|, |dx|) offset of the map the model was built for, so the size must give the
     * same stage-4 map as the card's size (and the authors' model built for that size must expect
     * that map: {@code img_size // patch_size} halved, rounding up, matches the convolutions).
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "LSNet's configuration has one image size (square inputs only)", 1);
        int side = tableSide(cfg.imgSize());
        if (height < 1 || tableSide(height) != side || mapSide(height) != side) {
            int lo = -1, hi = -1;
            for (int s = 1; s <= 64 * (side + 1) * cfg.patchSize(); s++) {
                if (tableSide(s) == side && mapSide(s) == side) {
                    if (lo < 0) lo = s;
                    hi = s;
                }
            }
            throw new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": the stage-4 attention bias table of "
                    + "these weights is for a " + side + "x" + side + " map, so the input must give that map (valid sizes: "
                    + lo + " to " + hi + ")");
        }
        return new LSNet(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    // ------------------------------------------------------------------ forward

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] dims = cfg.embedDim();
        Scope pe = w.scope("patch_embed");
        Value x = g.relu(ConvBn.apply(pe.scope("0"), image, dims[0] / 4, 3, 2, 1));
        x = g.relu(ConvBn.apply(pe.scope("2"), x, dims[0] / 2, 3, 2, 1));
        x = ConvBn.apply(pe.scope("4"), x, dims[0], 3, 2, 1);
        Taps taps = Taps.of(g);
        for (int i = 0; i < dims.length; i++) {
            String stage = "blocks" + (i + 1);
            int off = 0;
            if (i > 0) {
                int prev = dims[i - 1];
                x = ConvBn.apply(w.scope(stage + ".0"), x, prev, 3, 2, prev);
                x = ConvBn.apply(w.scope(stage + ".1"), x, dims[i], 1, 1, 1);
                off = 2;
            }
            for (int d = 0; d < cfg.depth()[i]; d++) {
                Scope b = w.scope(stage, off + d);
                final Value in = x;
                final int si = i, di = d;
                x = g.named(stage + "." + (off + d), () -> block(b, in, si, di));
            }
            taps.feature(i, x);                                           // blocks{i+1} output
        }
        return head(w, x, dims[dims.length - 1]);
    }

    private Value block(Scope b, Value x, int stage, int depth) {
        Graph g = b.graph();
        int ed = cfg.embedDim()[stage];
        if (depth % 2 == 0) {
            x = repVggDw(b.scope("mixer"), x, ed);
            x = squeezeExcite(b.scope("se"), x, ed);
        } else if (stage == 3) {
            x = g.add(x, attention(b.scope("mixer.m"), x, ed, cfg.keyDim()[stage], cfg.numHeads()[stage]));
        } else {
            x = lsConv(b.scope("mixer"), x, ed);
        }
        Scope f = b.scope("ffn.m");
        Value h = g.relu(ConvBn.apply(f.scope("pw1"), x, 2 * ed, 1, 1, 1));
        return g.add(x, ConvBn.apply(f.scope("pw2"), h, ed, 1, 1, 1));
    }

    /** {@code x + dw3x3_bn(x) + dw1x1_bn(x)} as one depthwise 3×3 convolution. */
    private static Value repVggDw(Scope s, Value x, int ed) {
        ConvBn.Folded k3 = ConvBn.fold(s.scope("conv"), ed, ed, 3, ed);
        ConvBn.Folded k1 = ConvBn.fold(s.scope("conv1"), ed, ed, 1, ed);
        float[] w = k3.weight().clone(), bias = k3.bias().clone();
        for (int o = 0; o < ed; o++) {
            w[o * 9 + 4] += k1.weight()[o] + 1f;
            bias[o] += k1.bias()[o];
        }
        return ConvBn.emit(s.scope("conv"), x, new ConvBn.Folded(w, bias, ed, 1, 3), 1, ed);
    }

    /** timm's SqueezeExcite (SEModule) at rd_ratio 0.25: mean → 1×1 → ReLU → 1×1 → sigmoid gate. */
    private static Value squeezeExcite(Scope s, Value x, int c) {
        Graph g = s.graph();
        int rd = Math.max(8, (int) (c * 0.25 + 4) / 8 * 8);
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value p = g.globalAvgPool(x);
        Value a = g.relu(g.conv2d(p, s.scope("fc1").param("weight", rd, c, 1, 1), s.scope("fc1").param("bias", rd), one, zero, one, 1));
        Value z = g.conv2d(a, s.scope("fc2").param("weight", c, rd, 1, 1), s.scope("fc2").param("bias", c), one, zero, one, 1);
        return g.mul(x, g.sigmoid(z));
    }

    /** LSConv: {@code bn(SKA(x, LKP(x))) + x}. */
    private static Value lsConv(Scope s, Value x, int dim) {
        Graph g = s.graph();
        long h = x.dim(2), w = x.dim(3), n = h * w;
        int wc = dim / SKA_GROUPS, taps = SKS * SKS, groups = dim / wc;
        Scope lkp = s.scope("lkp");
        Value a = g.relu(ConvBn.apply(lkp.scope("cv1"), x, dim / 2, 1, 1, 1));
        a = ConvBn.apply(lkp.scope("cv2"), a, dim / 2, LKS, 1, dim / 2);
        a = g.relu(ConvBn.apply(lkp.scope("cv3"), a, dim / 2, 1, 1, 1));
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value k = g.conv2d(a, lkp.scope("cv4").param("weight", (long) taps * wc, dim / 2, 1, 1), lkp.scope("cv4").param("bias", (long) taps * wc),
                one, zero, one, 1);
        // GroupNorm(wc groups of 9 channels): normalise each group over (9, H, W), then the per-channel affine
        Value grouped = g.reshape(k, -1, wc, taps * n);
        Value normed = g.op1("InstanceNormalization", new Value[]{grouped, g.constant("gn_scale", ones(wc), wc),
                g.constant("gn_shift", new float[wc], wc)}, grouped.dtype(), grouped.shape(), Attr.f("epsilon", 1e-5f));
        Value kw = g.reshape(normed, -1, 1, wc, taps, h, w);
        Scope gn = lkp.scope("norm");
        kw = g.add(g.mul(kw, gn.derived("weight_6d", "GroupNorm weight as [1, 1, wc, 9, 1, 1]", gn.floats("weight", (long) taps * wc), 1, 1, wc, taps, 1, 1)),
                gn.derived("bias_6d", "GroupNorm bias as [1, 1, wc, 9, 1, 1]", gn.floats("bias", (long) taps * wc), 1, 1, wc, taps, 1, 1));

        // SKA: the nine shifted copies of x by a one-hot depthwise conv, weights broadcast over the channel groups
        float[] onehot = new float[dim * taps * taps];
        for (int c = 0; c < dim; c++) for (int t = 0; t < taps; t++) onehot[(c * taps + t) * taps + t] = 1f;
        Value shifts = g.op1("Conv", new Value[]{x, g.constant("ska_taps", onehot, (long) dim * taps, 1, SKS, SKS)}, x.dtype(),
                new long[]{x.dim(0), (long) dim * taps, h, w}, Attr.ints("kernel_shape", SKS, SKS), Attr.ints("pads", 1, 1, 1, 1),
                Attr.i("group", dim));
        Value prod = g.mul(g.reshape(shifts, -1, groups, wc, taps, h, w), kw);
        Value ska = g.reshape(g.op1("ReduceSum", new Value[]{prod, g.ints(3)}, prod.dtype(),
                new long[]{x.dim(0), groups, wc, h, w}, Attr.i("keepdims", 0)), -1, dim, h, w);
        double[][] bn = BatchNorm.affine(s.scope("bn"), dim, BatchNorm.DEFAULT_EPS);
        float[] sc = new float[dim], sh = new float[dim];
        for (int c = 0; c < dim; c++) {
            sc[c] = (float) bn[0][c];
            sh[c] = (float) bn[1][c];
        }
        Value y = g.add(g.mul(ska, s.scope("bn").derived("folded_scale", "BatchNorm scale", sc, 1, dim, 1, 1)),
                s.scope("bn").derived("folded_shift", "BatchNorm shift", sh, 1, dim, 1, 1));
        return g.add(y, x);
    }

    private static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }

    /** Multi-head attention with a depthwise conv on the queries and learned biases per (|dy|, |dx|) offset. */
    private static Value attention(Scope s, Value x, int ed, int kd, int nh) {
        Graph g = s.graph();
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3)), n = h * w;
        if (h != w) throw new IllegalArgumentException("LSNet attention needs a square map, got " + h + "x" + w);
        int nhKd = kd * nh;
        int d = (int) ((double) ed / (kd * nh) * kd);
        int dh = d * nh;
        Value qkv = ConvBn.apply(s.scope("qkv"), x, dh + 2 * nhKd, 1, 1, 1);
        Value[] p = g.split(qkv, 1, nhKd, nhKd, dh);
        ConvBn.Folded dw = ConvBn.fold(s.scope("dw"), nhKd, nhKd, 3, nhKd);
        float scale = (float) Math.pow(kd, -0.5);
        float[] dwW = dw.weight().clone(), dwB = dw.bias().clone();
        for (int i = 0; i < dwW.length; i++) dwW[i] *= scale;
        for (int i = 0; i < dwB.length; i++) dwB[i] *= scale;
        Value q = ConvBn.emit(s.scope("dw"), p[0], new ConvBn.Folded(dwW, dwB, nhKd, 1, 3), 1, nhKd);
        Value qT = g.transpose(g.reshape(q, -1, nh, kd, n), 0, 1, 3, 2);           // [B, nh, N, kd]
        Value k = g.reshape(p[1], -1, nh, kd, n);                                    // [B, nh, kd, N]
        Value v = g.reshape(p[2], -1, nh, d, n);                                     // [B, nh, d, N]

        // attention_biases[:, idxs]: offsets (|dy|, |dx|) numbered in order of first appearance
        Map<Long, Integer> offsets = new LinkedHashMap<>();
        int[] idx = new int[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                long key = (long) Math.abs(i / w - j / w) * 1_000_003L + Math.abs(i % w - j % w);
                Integer o = offsets.get(key);
                if (o == null) offsets.put(key, o = offsets.size());
                idx[i * n + j] = o;
            }
        }
        float[] ab = s.floats("attention_biases", nh, offsets.size());
        float[] bias = new float[nh * n * n];
        for (int hh = 0; hh < nh; hh++) for (int i = 0; i < n * n; i++) bias[hh * n * n + i] = ab[hh * offsets.size() + idx[i]];
        Value logits = g.add(g.matMul(qT, k), s.derived("attention_bias", "attention_biases[:, attention_bias_idxs]", bias, nh, n, n));
        Value attn = g.softmax(logits, -1);
        Value o = g.matMul(v, g.transpose(attn, 0, 1, 3, 2));                        // [B, nh, d, N]
        return ConvBn.apply(s.scope("proj.1"), g.relu(g.reshape(o, -1, dh, h, w)), ed, 1, 1, 1);
    }

    /**
     * Whether to average {@code head_dist} in: a checkpoint decides by holding it or not (the
     * authors' main.py loads a plain state dict with {@code strict=False}, and the same backbone is
     * released with and without it as lsnet_x / lsnet_x_distill); made-up weights follow
     * {@link Config#distillation()}. Half a head_dist is reported as missing keys.
     */
    private boolean hasDistillationHead(Scope w) {
        if (w.weights().isSynthetic()) return cfg.distillation();
        return w.has("head_dist.l.weight") || w.has("head_dist.l.bias") || w.has("head_dist.bn.weight");
    }

    /** Global average pool, then BatchNorm1d + Linear (and the distillation head, averaged) as one Gemm. */
    private Value head(Scope w, Value x, int c) {
        Graph g = w.graph();
        Value pooled = g.reshape(g.globalAvgPool(x), -1, c);
        Taps.of(g).embedding(pooled);                             // what head (and head_dist) read
        String[] heads = hasDistillationHead(w) ? new String[]{"head", "head_dist"} : new String[]{"head"};
        return BnLinearHead.averaged(w, pooled, c, cfg.numClasses(), BatchNorm.DEFAULT_EPS, heads);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.embedDim());
    }
}
