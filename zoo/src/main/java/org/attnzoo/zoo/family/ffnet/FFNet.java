package org.attnzoo.zoo.family.ffnet;

import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * FFNet (Yun &amp; Ro, "MetaMixer", 2024), as the authors' {@code models/ffnet.py}: a two-conv stem,
 * four stages of FFBlocks — a token mixer (1×1 Conv-BN, depthwise conv, GELU/ReLU, depthwise conv;
 * 7×7 depthwise convs are RepVGG pairs 7×7 + 3×3) with optional squeeze-excite, and a channel mixer
 * (depthwise conv, 1×1, activation, 1×1), both residual with optional layer scales — joined by
 * patch merging (a stride-2 RepVGG depthwise pair, then {@code x + conv1x1(BN(x))}); final
 * BatchNorm, mean pool, Linear.
 *
 * <p>Two graphs from the same released checkpoint ({@link Config#reparameterize()}):
 * <ul>
 *   <li>the released, training-time structure (default): every Conv2d_BN as Conv +
 *       BatchNormalization, each RepVGG pair as two convs and an Add, the merging skip as
 *       BatchNormalization + Conv + Add, layer scales as Mul — node for node the authors' module;</li>
 *   <li>re-parameterised: each BatchNorm folded into its conv, each RepVGG pair into one 7×7 kernel
 *       (the 3×3 zero padded), the skip's identity into its 1×1 kernel, layer scales into the last
 *       conv of their branch, the final BatchNorm into the head — the authors' {@code fuse()} rules,
 *       fewer nodes, the same outputs.</li>
 * </ul>
 */
public final class FFNet extends FamilyArchitecture<FFNet.Config> {

    /** The authors' FFNet constructor arguments, plus which graph to emit. */
    public record Config(int imgSize, int numClasses, int[] embedDim, int inDim, int[] depth, int[] kernelSizes,
                         int[] kernelSizes1, int[] kernelSizes2, boolean[] useGelus, boolean[] useSes,
                         double[] expansionRatios, boolean useLayerScale, boolean reparameterize) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }

        public Config withReparameterize(boolean on) {
            return new Config(imgSize, numClasses, embedDim, inDim, depth, kernelSizes, kernelSizes1, kernelSizes2, useGelus,
                    useSes, expansionRatios, useLayerScale, on);
        }
    }

    private static Config v(int img, int[] depth, int[] dims, int[] ks, boolean ls) {
        boolean[] t = {true, true, true, true}, f = {false, false, false, false};
        return new Config(img, 1000, dims, 64, depth, ks, new int[]{3, 3, 7, 7}, new int[]{3, 3, 7, 7}, t, f,
                new double[]{3, 3, 3, 3}, ls, false);
    }

    public static final Map<String, Config> VARIANTS;
    private static final Map<String, Double> CROP = new LinkedHashMap<>();

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] k3 = {3, 3, 3, 3}, k7 = {7, 7, 7, 7};
        m.put("ffnet_1", v(256, new int[]{2, 2, 8, 2}, new int[]{80, 160, 320, 640}, k3, false));
        m.put("ffnet_2", v(256, new int[]{3, 3, 15, 3}, new int[]{88, 176, 352, 704}, k7, false));
        m.put("ffnet_3", v(256, new int[]{4, 4, 22, 5}, new int[]{96, 192, 384, 768}, k7, true));
        m.put("ffnet_4", v(256, new int[]{4, 4, 27, 3}, new int[]{128, 256, 512, 1024}, k7, true));
        m.put("ffnet_3_384", v(384, new int[]{4, 4, 22, 5}, new int[]{96, 192, 384, 768}, k7, true));
        m.put("ffnet_4_384", v(384, new int[]{4, 4, 27, 3}, new int[]{128, 256, 512, 1024}, k7, true));
        CROP.put("ffnet_1", 0.9);
        CROP.put("ffnet_2", 0.9);
        CROP.put("ffnet_3", 0.95);
        CROP.put("ffnet_4", 0.95);
        CROP.put("ffnet_3_384", 1.0);
        CROP.put("ffnet_4_384", 1.0);
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public FFNet(String name, Config cfg, Preprocessing pre) {
        super("ffnet", name, cfg, pre);
    }

    /**
     * The authors' default_cfgs: 256 px, crop 0.9 (ffnet_1, ffnet_2) or 0.95 (ffnet_3, ffnet_4),
     * bicubic; their 384 fine-tunes evaluate at crop 1.0 (train.py sets it when fine-tuning).
     */
    public static FFNet variant(String name) {
        Config c = lookup(VARIANTS, "FFNet", name);
        return new FFNet(name, c, Preprocessing.imagenet(c.imgSize(), CROP.get(name), "bicubic"));
    }

    /** The same model emitting the re-parameterised (fused) graph. */
    public FFNet reparameterized() {
        return new FFNet(name, cfg.withReparameterize(true), pre);
    }

    /**
     * The pre-logits vector (mean pool of the final BatchNorm's output, what {@code head} reads)
     * and four feature maps at strides 4, 8, 16, 32 as the authors' detection backbone
     * ({@code detection/mmdet_custom/models/backbones/ffnet.py} FFNet; the segmentation one is the
     * same) returns them: each stage's output through its own channels-first LayerNorm
     * {@code norm{i}}. Stride-2 convs round odd sizes up, so maps are ⌈H/r⌉.
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDim(), 4);
    }

    /** Any square size: FFNet is convolutional throughout (SE pools globally); stride-2 convs round odd sizes up. */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "FFNet's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new FFNet(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }


    // ------------------------------------------------------------------ building blocks

    private boolean fused() {
        return cfg.reparameterize();
    }

    /** Conv2d_BN (keys {@code c}, {@code bn}): Conv + BatchNormalization, or one folded conv. */
    private Value convBn(Scope s, Value x, int out, int k, int stride, int groups) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1)), p = k / 2;
        int[] st = {stride, stride}, pads = {p, p, p, p}, one = {1, 1};
        if (fused()) {
            Kernel f = folded(s, in, out, k, groups);
            return g.conv2d(x, s.derived("c.weight_folded", "BatchNorm folded in", f.w, out, in / groups, k, k),
                    s.derived("c.bias_folded", null, f.b, out), st, pads, one, groups);
        }
        Value y = g.conv2d(x, s.scope("c").param("weight", out, in / groups, k, k), null, st, pads, one, groups);
        return batchNorm(s.scope("bn"), y);
    }

    /** An eval-mode BatchNorm2d as an ONNX BatchNormalization node. */
    private static Value batchNorm(Scope bn, Value x) {
        int c = Math.toIntExact(x.dim(1));
        Value mean = bn.derived("running_mean", "buffer", bn.buffer("running_mean", c), c);
        Value var = bn.derived("running_var", "buffer", bn.buffer("running_var", c), c);
        return bn.graph().op1("BatchNormalization", new Value[]{x, bn.param("weight", c), bn.param("bias", c), mean, var},
                x.dtype(), x.shape(), Attr.f("epsilon", 1e-5f));
    }

    private record Kernel(float[] w, float[] b, int k) {
    }

    private static Kernel folded(Scope s, int in, int out, int k, int groups) {
        BatchNorm.Folded f = BatchNorm.fold(s.scope("c").floats("weight", out, in / groups, k, k), null,
                BatchNorm.affine(s.scope("bn"), out, BatchNorm.DEFAULT_EPS));
        return new Kernel(f.weight(), f.bias(), k);
    }

    /**
     * RepVGGDW: a 7×7 and a 3×3 grouped Conv2d_BN (groups = in) summed; fused, the 3×3 kernel is
     * zero padded into the 7×7 one. {@code scale} (per output channel, or null) multiplies the
     * result — folded into the kernel when fused.
     */
    private Value repVggDw(Scope s, Value x, int out, int stride, float[] scale) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1)), ipg = 1;
        if (fused()) {
            Kernel k7 = folded(s.scope("conv"), in, out, 7, in), k3 = folded(s.scope("conv1"), in, out, 3, in);
            float[] w = k7.w.clone(), b = k7.b.clone();
            for (int o = 0; o < out; o++) {
                for (int u = 0; u < 3; u++) for (int v = 0; v < 3; v++) w[(o * 7 + u + 2) * 7 + v + 2] += k3.w[(o * 3 + u) * 3 + v];
                b[o] += k3.b[o];
            }
            scaleRows(w, b, out, scale);
            return g.conv2d(x, s.derived("weight_fused", "7x7 + padded 3x3 branches, BatchNorms folded" + (scale != null ? ", layer scale folded" : ""),
                    w, out, ipg, 7, 7), s.derived("bias_fused", null, b, out), new int[]{stride, stride}, new int[]{3, 3, 3, 3}, new int[]{1, 1}, in);
        }
        Value y = g.add(convBn(s.scope("conv"), x, out, 7, stride, in), convBn(s.scope("conv1"), x, out, 3, stride, in));
        return scale == null ? y : g.mul(y, scaleValue(s, scale));
    }

    private static void scaleRows(float[] w, float[] b, int out, float[] scale) {
        if (scale == null) return;
        int per = w.length / out;
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < per; j++) w[o * per + j] *= scale[o];
            b[o] *= scale[o];
        }
    }

    private static Value scaleValue(Scope s, float[] scale) {
        return s.derived("layer_scale_c", "layer scale as [1, C, 1, 1]", scale, 1, scale.length, 1, 1);
    }

    /** A plain depthwise conv with bias ({@code nn.Conv2d(dim, dim, k, groups=dim)}), optionally scaled. */
    private Value depthwise(Scope s, Value x, int k, float[] scale) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1)), p = k / 2;
        int[] one = {1, 1}, pads = {p, p, p, p};
        if (fused() && scale != null) {
            float[] w = s.floats("weight", c, 1, k, k).clone(), b = s.floats("bias", c).clone();
            scaleRows(w, b, c, scale);
            return g.conv2d(x, s.derived("weight_scaled", "layer scale folded in", w, c, 1, k, k), s.derived("bias_scaled", null, b, c),
                    one, pads, one, c);
        }
        Value y = g.conv2d(x, s.param("weight", c, 1, k, k), s.param("bias", c), one, pads, one, c);
        return scale == null ? y : g.mul(y, scaleValue(s, scale));
    }

    /** A 1×1 conv with bias, optionally scaled per output channel. */
    private Value pointwise(Scope s, Value x, int out, float[] scale) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1));
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        if (fused() && scale != null) {
            float[] w = s.floats("weight", out, in, 1, 1).clone(), b = s.floats("bias", out).clone();
            scaleRows(w, b, out, scale);
            return g.conv2d(x, s.derived("weight_scaled", "layer scale folded in", w, out, in, 1, 1), s.derived("bias_scaled", null, b, out),
                    one, zero, one, 1);
        }
        Value y = g.conv2d(x, s.param("weight", out, in, 1, 1), s.param("bias", out), one, zero, one, 1);
        return scale == null ? y : g.mul(y, scaleValue(s, scale));
    }

    // ------------------------------------------------------------------ forward

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] e = cfg.embedDim();
        Value x = g.gelu(convBn(w.scope("patch_embed.0"), image, cfg.inDim(), 3, 2, 1));
        x = convBn(w.scope("patch_embed.2"), x, e[0], 3, 2, 1);
        Taps taps = Taps.of(g);
        for (int i = 0; i < e.length; i++) {
            int off = 0;
            if (i > 0) {
                Scope pm = w.scope("stages." + i + ".0.proj");
                x = repVggDw(pm.scope("0"), x, e[i], 2, null);
                x = mergeSkip(pm.scope("1.conv"), x);
                off = 1;
            }
            for (int d = 0; d < cfg.depth()[i]; d++) {
                Scope b = w.scope("stages." + i, off + d);
                final Value in = x;
                final int si = i, di = d;
                x = g.named("stages." + i + "." + (off + d), () -> block(b, in, si, di % 2 == 0 && cfg.useSes()[si]));
            }
            if (taps.wants(i)) taps.feature(i, outputNorm(w.scope("norm" + i), x));
        }
        return head(w, x, e[e.length - 1], taps);
    }

    /**
     * The detection backbone's {@code norm{i}}: a channels-first LayerNorm (eps 1e-6) on stage i's
     * output, built only when feature i is returned. A classification checkpoint has no
     * {@code norm{i}.*}; then it is the identity LayerNorm PyTorch initialises (weight 1, bias 0), as
     * the authors' backbone has before detection training. A detection checkpoint's values are read.
     */
    private static Value outputNorm(Scope s, Value x) {
        return LayerNorm.channelsFirstOrInitial(s, x, 1e-6f);
    }


    /** Conv2d_BN_skip: {@code x + conv1x1(BN(x))} (BN before the bias-free conv). */
    private Value mergeSkip(Scope s, Value x) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        if (!fused()) {
            Value y = g.conv2d(batchNorm(s.scope("bn"), x), s.scope("c").param("weight", c, c, 1, 1), null, one, zero, one, 1);
            return g.add(y, x);
        }
        double[][] a = BatchNorm.affine(s.scope("bn"), c, BatchNorm.DEFAULT_EPS);
        float[] wc = s.scope("c").floats("weight", c, c, 1, 1);
        float[] w = new float[c * c], b = new float[c];
        for (int o = 0; o < c; o++) {
            double acc = 0;
            for (int i = 0; i < c; i++) {
                w[o * c + i] = (float) (wc[o * c + i] * a[0][i] + (o == i ? 1 : 0));
                acc += wc[o * c + i] * a[1][i];
            }
            b[o] = (float) acc;
        }
        return g.conv2d(x, s.derived("weight_fused", "BatchNorm folded, identity added", w, c, c, 1, 1), s.derived("bias_fused", null, b, c),
                one, zero, one, 1);
    }

    private Value act(Graph g, Value x, int stage) {
        return cfg.useGelus()[stage] ? g.gelu(x) : g.relu(x);
    }

    private Value block(Scope b, Value x, int i, boolean se) {
        Graph g = b.graph();
        int dim = cfg.embedDim()[i];
        // token mixer: fc (Conv2d_BN 1x1) -> conv1 -> act -> conv2, times layer scale, plus x
        Scope tm = b.scope("token_mixer.0");
        float[] ls1 = cfg.useLayerScale() ? tm.floats("layer_scale", dim, 1, 1) : null;
        Scope m = tm.scope("main");
        Value t = convBn(m.scope("fc"), x, dim, 1, 1, 1);
        t = mixConv(m.scope("conv1"), t, cfg.kernelSizes1()[i], null, false);
        t = act(g, t, i);
        t = mixConv(m.scope("conv2"), t, cfg.kernelSizes2()[i], ls1, false);
        x = g.add(t, x);
        if (se) x = squeezeExcite(b.scope("token_mixer.1"), x, dim);
        // channel mixer: conv (RepVGGDW or Conv2d_BN) -> fc1 -> act -> fc2, times layer scale, plus x
        Scope cm = b.scope("channel_mixer");
        float[] ls2 = cfg.useLayerScale() ? cm.floats("layer_scale", dim, 1, 1) : null;
        Scope mm = cm.scope("main");
        int hidden = (int) (dim * cfg.expansionRatios()[i]);
        Value c = mixConv(mm.scope("conv"), x, cfg.kernelSizes()[i], null, true);
        c = act(g, pointwise(mm.scope("fc1"), c, hidden, null), i);
        c = pointwise(mm.scope("fc2"), c, dim, ls2);
        return g.add(c, x);
    }

    /** A mixer's depthwise conv: RepVGGDW for kernel 7, else a plain conv ({@code bn}: Conv2d_BN instead). */
    private Value mixConv(Scope s, Value x, int k, float[] scale, boolean bn) {
        int c = Math.toIntExact(x.dim(1));
        if (k == 7) return repVggDw(s, x, c, 1, scale);
        if (!bn) return depthwise(s, x, k, scale);
        Value y = convBn(s, x, c, k, 1, c);
        return scale == null ? y : s.graph().mul(y, scaleValue(s, scale));
    }

    /** timm's SqueezeExcite (SEModule) at rd_ratio 0.25. */
    private static Value squeezeExcite(Scope s, Value x, int c) {
        Graph g = s.graph();
        int rd = Math.max(8, (int) (c * 0.25 + 4) / 8 * 8);
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value a = g.relu(g.conv2d(g.globalAvgPool(x), s.scope("fc1").param("weight", rd, c, 1, 1), s.scope("fc1").param("bias", rd), one, zero, one, 1));
        Value z = g.conv2d(a, s.scope("fc2").param("weight", c, rd, 1, 1), s.scope("fc2").param("bias", c), one, zero, one, 1);
        return g.mul(x, g.sigmoid(z));
    }

    /**
     * Final BatchNorm, mean pool, Linear (fused: the BatchNorm folded into the Linear). The
     * embedding is the pooled BatchNorm output; fused, the BatchNorm's per-channel affine applied
     * to the pooled vector (pooling commutes with it), a branch only an embedding build keeps.
     */
    private Value head(Scope w, Value x, int c, Taps taps) {
        Graph g = w.graph();
        int k = cfg.numClasses();
        Scope h = w.scope("head");
        if (!fused()) {
            Value p = g.reshape(g.globalAvgPool(batchNorm(w.scope("norm"), x)), -1, c);
            taps.embedding(p);                                  // flatten(avgpool(norm(x))): what head reads
            return g.gemm(p, h.param("weight", k, c), h.param("bias", k), true);
        }
        double[][] a = BatchNorm.affine(w.scope("norm"), c, BatchNorm.DEFAULT_EPS);
        BatchNorm.Folded f = BatchNorm.foldBefore(h.floats("weight", k, c), h.floats("bias", k), a);
        float[] fw = f.weight(), fb = f.bias();
        Value p = g.reshape(g.globalAvgPool(x), -1, c);
        float[] scale = new float[c], shift = new float[c];
        for (int i = 0; i < c; i++) {
            scale[i] = (float) a[0][i];
            shift[i] = (float) a[1][i];
        }
        Scope n = w.scope("norm");
        taps.embedding(g.add(g.mul(p, n.derived("scale_pooled", "BatchNorm scale γ/√(σ²+ε)", scale, c)),
                n.derived("shift_pooled", "BatchNorm shift β − μ·scale", shift, c)));
        return g.gemm(p, h.derived("weight_fused", "final BatchNorm folded in", fw, k, c), h.derived("bias_fused", null, fb, k), true);
    }

    @Override
    public String toString() {
        return name + (cfg.reparameterize() ? " (re-parameterised)" : "") + " " + java.util.Arrays.toString(cfg.embedDim());
    }
}
