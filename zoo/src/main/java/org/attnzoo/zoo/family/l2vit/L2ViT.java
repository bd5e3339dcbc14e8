package org.attnzoo.zoo.family.l2vit;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
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

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * L²ViT (Zheng et al., "The Linear Attention Resurrection in Vision Transformer"), as the authors'
 * {@code classification/models/l2vit.py} with the block type and stem of every registered model
 * ({@code mix_local_enhanced_vit}, 2-conv BN stem): four stages whose blocks alternate a local
 * window attention block (even index) and a linear global attention block (odd index).
 *
 * <ul>
 *   <li>Stem: the image zero-padded right/bottom to a multiple of 4, conv 3×3/2, BN, ReLU,
 *       conv 3×3/2, BN (both BNs folded into their convs), tokens, LayerNorm. Later embeddings:
 *       LayerNorm of the tokens, the map zero-padded to even size, conv 2×2/2.</li>
 *   <li>Local block: {@code x = cpe0(x)} (x + depthwise 3×3), then
 *       {@code x + WindowAttention(LN(x))} on windows of the map zero-padded (after the LayerNorm)
 *       to a multiple of the window — the padded tokens take part in the attention unmasked, as
 *       upstream — then {@code cpe1}, then {@code x + Mlp(LN(x))}.</li>
 *   <li>Global block: {@code x = cpe0(x)}, {@code x + LinearAttention(LN(x))}, then
 *       {@code x + LCM(LN(x))} (depthwise 7×7, GELU, BN, depthwise 7×7) and {@code x + Mlp(LN(x))}.
 *       LinearAttention: {@code q, k = ReLU(q), ReLU(k)};
 *       {@code out = q (kᵀ v · τ) / max(q · Σₙ k, 100)} per head, with the learnable temperature τ
 *       folded into the value projection.</li>
 *   <li>Head: LayerNorm, mean over tokens, Linear.</li>
 * </ul>
 * The window attention's {@code head_dim^-0.5} is folded into the query projection; the LCM's
 * BatchNorm sits between a GELU and a zero-padded depthwise conv and stays a per-channel affine.
 */
public final class L2ViT extends FamilyArchitecture<L2ViT.Config> {

    /** The denominator clamp of the authors' LinearAttention. */
    static final float DENOMINATOR_MIN = 100f;

    /** The authors' L2ViT arguments that the registered models vary (MLP ratio 4 in every stage). */
    public record Config(int imgSize, int numClasses, int[] depths, int[] dims, int[] numHeads, int windowSize)
            implements ImageConfig {
        public Config {
            if (depths.length != 4 || dims.length != 4 || numHeads.length != 4) {
                throw new IllegalArgumentException("L2ViT needs 4 stages: depths " + Arrays.toString(depths) + ", dims "
                        + Arrays.toString(dims) + ", numHeads " + Arrays.toString(numHeads));
            }
            for (int i = 0; i < 4; i++) {
                if (dims[i] % numHeads[i] != 0) {
                    throw new IllegalArgumentException("L2ViT stage " + i + ": dim " + dims[i] + " not divisible by " + numHeads[i] + " heads");
                }
            }
        }

        @Override
        public int inChans() {
            return 3;
        }
    }

    private static Config v(int img, int classes, int[] depths, int[] dims, int[] heads, int window) {
        return new Config(img, classes, depths, dims, heads, window);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] small = {96, 192, 384, 768}, smallHeads = {3, 6, 12, 24}, base = {128, 256, 512, 1024}, baseHeads = {4, 8, 16, 32};
        m.put("L2ViT_Tiny", v(224, 1000, new int[]{2, 2, 6, 2}, small, smallHeads, 7));
        m.put("L2ViT_Small", v(224, 1000, new int[]{2, 2, 18, 2}, small, smallHeads, 7));
        m.put("L2ViT_Base", v(224, 1000, new int[]{2, 2, 18, 2}, base, baseHeads, 7));
        m.put("L2ViT_Base_384", v(384, 1000, new int[]{2, 2, 18, 2}, base, baseHeads, 12));
        // the ImageNet-22k pre-trained classifier (21841 classes, the authors' own class order)
        m.put("L2ViT_Base_in22k", v(224, 21841, new int[]{2, 2, 18, 2}, base, baseHeads, 7));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public L2ViT(String name, Config cfg, Preprocessing pre) {
        super("l2vit", name, cfg, pre);
    }

    /**
     * The authors' eval transform ({@code datasets.build_transform}): below 384 resize the short
     * side to 256/224 of the size and centre crop; at 384 and above warp to a square. Bicubic,
     * ImageNet mean and std.
     */
    public static L2ViT variant(String name) {
        Config c = lookup(VARIANTS, "L2ViT", name);
        return new L2ViT(name, c, preprocessing(c.imgSize()));
    }

    static Preprocessing preprocessing(int size) {
        return size >= 384 ? Preprocessing.imagenet(size, 1.0, "bicubic").withCropMode(Preprocessing.SQUASH)
                : Preprocessing.imagenet(size, 224.0 / 256, "bicubic");
    }

    /**
     * The pre-logits vector (final LayerNorm, mean over tokens: what {@code head} reads) and the
     * four stage maps at strides 4, 8, 16, 32 as the authors' detection and segmentation backbone
     * returns them ({@code object_detection/mmdet/models/backbones/l2vit.py}, identical in
     * {@code semantic_segmentation/}): the tokens after {@code stages[i]} (before the next
     * embedding) through the backbone's own LayerNorm {@code norm<i>}, as NCHW.
     *
     * <p>That class does not pass its {@code window_size} on to the blocks, so its local blocks
     * always use windows of 7; we keep the variant's window, which is 7 for every registered model
     * but {@code L2ViT_Base_384} (12, whose maps here are its classification model's).
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.dims(), 4);
    }

    /**
     * Any square size: the stem and the 2×2 embeddings pad their input (maps round up: ceil(H/4),
     * then ceil of halves), the local attention pads each map to whole windows, and there is no
     * position table (positions come from the depthwise CPE convs), so the authors' model runs at
     * any size on the same weights.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "L2ViT's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new L2ViT(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] dims = cfg.dims();
        Taps taps = Taps.of(g);
        Scope d0 = w.scope("downsample_layers.0");
        Value x = padTo(g, image, 4);
        Scope stem = d0.scope("proj.proj");
        x = g.relu(convBn(stem.scope("0"), stem.scope("1"), x, dims[0] / 2));
        x = convBn(stem.scope("3"), stem.scope("4"), x, dims[0]);
        int h = Math.toIntExact(x.dim(2)), wd = Math.toIntExact(x.dim(3));
        Value t = LayerNorm.apply(d0.scope("norm"), toTokens(g, x), dims[0], 1e-5f);
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                Scope d = w.scope("downsample_layers", i);
                Value n = toMap(g, LayerNorm.apply(d.scope("norm"), t, dims[i - 1], 1e-5f), h, wd);
                n = padTo(g, n, 2);
                n = g.conv2d(n, d.scope("proj").param("weight", dims[i], dims[i - 1], 2, 2), d.scope("proj").param("bias", dims[i]),
                        new int[]{2, 2}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
                h = Math.toIntExact(n.dim(2));
                wd = Math.toIntExact(n.dim(3));
                t = toTokens(g, n);
            }
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = w.scope("stages." + i, j);
                final Value in = t;
                final int si = i, hh = h, ww = wd;
                final boolean local = j % 2 == 0;
                t = g.named("stages." + i + "." + j, () -> local ? localBlock(b, in, si, hh, ww) : globalBlock(b, in, si, hh, ww));
            }
            if (taps.wants(i)) taps.feature(i, toMap(g, outputNorm(w.scope("norm" + i), t, dims[i]), h, wd));
        }
        int c = dims[3];
        t = LayerNorm.apply(w.scope("norm"), t, c, 1e-5f);
        Value pooled = g.reduceMean(t, false, 1);
        taps.embedding(pooled);
        Scope hd = w.scope("head");
        return g.gemm(pooled, hd.param("weight", cfg.numClasses(), c), hd.param("bias", cfg.numClasses()), true);
    }

    /**
     * The detection backbone's per-output {@code norm<i>} (nn.LayerNorm, eps 1e-5) on a stage's
     * tokens: read from the checkpoint where it holds one (a detection/segmentation checkpoint); a
     * classification checkpoint has none, and the backbone class then starts from PyTorch's
     * initialisation (weight 1, bias 0; its _init_weights sets the same), which is what we build.
     */
    private static Value outputNorm(Scope s, Value t, int c) {
        return LayerNorm.applyOrInitial(s, t, c, 1e-5f);
    }

    /** Zero padding on the right and bottom of an NCHW map up to a multiple of {@code m} (F.pad as upstream). */
    private static Value padTo(Graph g, Value x, int m) {
        long h = x.dim(2), w = x.dim(3);
        long pb = (m - h % m) % m, pr = (m - w % m) % m;
        if (pb == 0 && pr == 0) return x;
        return g.pad(x, new long[]{0, 0, 0, 0, 0, 0, pb, pr}, 0f);
    }

    /** [B, C, H, W] to tokens [B, H·W, C]. */
    private static Value toTokens(Graph g, Value x) {
        long c = x.dim(1), n = x.dim(2) * x.dim(3);
        return g.transpose(g.reshape(x, -1, c, n), 0, 2, 1);
    }

    /** Tokens [B, H·W, C] to [B, C, H, W]. */
    private static Value toMap(Graph g, Value t, int h, int w) {
        return g.reshape(g.transpose(t, 0, 2, 1), -1, t.dim(2), h, w);
    }

    /** Conv 3×3/2 (padding 1, bias) followed by an eval BatchNorm, as one conv. */
    private static Value convBn(Scope conv, Scope bn, Value x, int out) {
        return BatchNorm.convFolded(conv, bn, x, out, 3, 2, 1, true, BatchNorm.DEFAULT_EPS);
    }

    /** Depthwise k×k conv with bias and padding k/2 on NCHW. */
    private static Value depthwise(Scope s, Value x, int c, int k) {
        int p = k / 2;
        int[] one = {1, 1};
        return s.graph().conv2d(x, s.param("weight", c, 1, k, k), s.param("bias", c), one, new int[]{p, p, p, p}, one, c);
    }

    /** CPE: {@code x + dwconv3×3(x)} on tokens. */
    private static Value cpe(Scope s, Value t, int c, int h, int w) {
        Graph g = s.graph();
        return g.add(t, toTokens(g, depthwise(s.scope("proj"), toMap(g, t, h, w), c, 3)));
    }

    private Value localBlock(Scope b, Value t, int stage, int h, int w) {
        Graph g = b.graph();
        int c = cfg.dims()[stage], heads = cfg.numHeads()[stage], ws = cfg.windowSize();
        t = cpe(b.scope("cpe.0"), t, c, h, w);
        Value n = g.reshape(LayerNorm.apply(b.scope("norm1"), t, c, 1e-5f), -1, h, w, c);
        int hp = (h + ws - 1) / ws * ws, wp = (w + ws - 1) / ws * ws;
        if (hp != h || wp != w) n = g.pad(n, new long[]{0, 0, 0, 0, 0, hp - h, wp - w, 0}, 0f);
        long tok = (long) ws * ws;
        Value win = g.reshape(g.transpose(g.reshape(n, -1, hp / ws, ws, wp / ws, ws, c), 0, 1, 3, 2, 4, 5), -1, tok, c);
        Value o = windowAttention(b.scope("attn"), win, c, heads, tok);
        Value back = g.reshape(g.transpose(g.reshape(o, -1, hp / ws, wp / ws, ws, ws, c), 0, 1, 3, 2, 4, 5), -1, hp, wp, c);
        if (hp != h || wp != w) back = g.slice(back, new long[]{0, 0}, new long[]{h, w}, new long[]{1, 2}, new long[]{1, 1});
        t = g.add(t, g.reshape(back, -1, (long) h * w, c));
        t = cpe(b.scope("cpe.1"), t, c, h, w);
        return g.add(t, Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), t, c, 1e-5f), c, 4L * c, c));
    }

    /** Softmax attention inside windows [B·nW, n, C]; the scale folded into the query projection. */
    private static Value windowAttention(Scope a, Value win, int c, int heads, long tok) {
        Graph g = a.graph();
        int hd = c / heads;
        Value qkv = qkv(a, win, c, new float[]{(float) Math.pow(hd, -0.5), 1f, 1f}, null);
        Value[] p = g.split(g.transpose(g.reshape(qkv, -1, tok, 3, heads, hd), 2, 0, 3, 1, 4), 0, 1, 1, 1);
        Value q = g.squeeze(p[0], 0), k = g.squeeze(p[1], 0), v = g.squeeze(p[2], 0);
        Value attn = g.softmax(g.matMul(q, g.transpose(k, 0, 1, 3, 2)), -1);
        Value o = g.reshape(g.transpose(g.matMul(attn, v), 0, 2, 1, 3), -1, tok, c);
        return Linear.apply(a.scope("proj"), o, c, c, true);
    }

    /**
     * The fused qkv projection with per-part output scales ({@code partScale}: q, k, v) and, when
     * {@code headScale} is given, the value columns of head {@code i} scaled by {@code headScale[i]}.
     */
    private static Value qkv(Scope a, Value x, int c, float[] partScale, float[] headScale) {
        Scope s = a.scope("qkv");
        float[] w = s.floats("weight", 3L * c, c), bias = s.floats("bias", 3L * c);
        int parts = headScale == null ? 3 : 2 + headScale.length;
        int rows = headScale == null ? c : c / headScale.length;
        float[][] ws = new float[parts][], bs = new float[parts][];
        long[] outs = new long[parts];
        float[] scale = new float[parts];
        for (int p = 0; p < parts; p++) {
            int r0 = p < 2 ? p * c : 2 * c + (p - 2) * rows, n = p < 2 ? c : rows;
            ws[p] = Arrays.copyOfRange(w, r0 * c, (r0 + n) * c);
            bs[p] = Arrays.copyOfRange(bias, r0, r0 + n);
            outs[p] = n;
            scale[p] = p < 2 ? partScale[p] : partScale[2] * (headScale == null ? 1f : headScale[p - 2]);
        }
        return Linear.apply(s, x, ws, bs, c, outs, scale, "weight", "bias");
    }

    private Value globalBlock(Scope b, Value t, int stage, int h, int w) {
        Graph g = b.graph();
        int c = cfg.dims()[stage], heads = cfg.numHeads()[stage];
        t = cpe(b.scope("cpe.0"), t, c, h, w);
        t = g.add(t, linearAttention(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), t, c, 1e-5f), c, heads, (long) h * w));
        t = g.add(t, lcm(b.scope("local_mp"), LayerNorm.apply(b.scope("norm3"), t, c, 1e-5f), c, h, w));
        return g.add(t, Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), t, c, 1e-5f), c, 4L * c, c));
    }

    /**
     * ReLU linear attention over all n tokens: {@code q (kᵀ v · τ) / max(q · Σₙ k, 100)} per head,
     * computed keys-and-values first (linear in n), τ folded into the value projection.
     */
    private static Value linearAttention(Scope a, Value x, int c, int heads, long n) {
        Graph g = a.graph();
        int hd = c / heads;
        float[] tau = a.floats("temperature", heads, 1, 1);
        Value qkv = qkv(a, x, c, new float[]{1f, 1f, 1f}, tau);
        Value[] p = g.split(g.transpose(g.reshape(qkv, -1, n, 3, heads, hd), 2, 0, 3, 1, 4), 0, 1, 1, 1);
        Value q = g.relu(g.squeeze(p[0], 0)), k = g.relu(g.squeeze(p[1], 0)), v = g.squeeze(p[2], 0);   // [B, h, n, d]
        Value kT = g.transpose(k, 0, 1, 3, 2);                                                          // [B, h, d, n]
        Value kSum = g.reduceSum(kT, true, 3);                                                          // [B, h, d, 1]
        Value denom = g.matMul(q, kSum);                                                                // [B, h, n, 1]
        denom = g.op1("Max", new Value[]{denom, g.constant("denominator_min", new float[]{DENOMINATOR_MIN})}, denom.dtype(), denom.shape());
        Value kv = g.matMul(kT, v);                                                                     // [B, h, d, d]
        Value o = g.div(g.matMul(q, kv), denom);
        o = g.reshape(g.transpose(o, 0, 2, 1, 3), -1, n, c);
        return Linear.apply(a.scope("proj"), o, c, c, true);
    }

    /** Local concentration module: depthwise 7×7, GELU, BatchNorm, depthwise 7×7, on the map. */
    private static Value lcm(Scope s, Value t, int c, int h, int w) {
        Graph g = s.graph();
        Value m = g.gelu(depthwise(s.scope("conv1"), toMap(g, t, h, w), c, 7));
        double[][] bn = BatchNorm.affine(s.scope("bn"), c, BatchNorm.DEFAULT_EPS);
        float[] sc = new float[c], sh = new float[c];
        for (int i = 0; i < c; i++) {
            sc[i] = (float) bn[0][i];
            sh[i] = (float) bn[1][i];
        }
        Scope bs = s.scope("bn");
        m = g.add(g.mul(m, bs.derived("scale", "eval BatchNorm as weight/sqrt(running_var+eps)", sc, c, 1, 1)),
                bs.derived("shift", "eval BatchNorm as bias - running_mean*scale", sh, c, 1, 1));
        return toTokens(g, depthwise(s.scope("conv2"), m, c, 7));
    }

    @Override
    public String toString() {
        return name + " dims " + Arrays.toString(cfg.dims()) + " window " + cfg.windowSize();
    }
}
