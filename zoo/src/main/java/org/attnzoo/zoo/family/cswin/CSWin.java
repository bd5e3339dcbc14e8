package org.attnzoo.zoo.family.cswin;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Mlp;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.ops.StripeAttention;
import org.attnzoo.sdk.ops.StripeAttention.Orientation;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CSWin Transformer (Dong et al., "CSWin Transformer: A General Vision Transformer Backbone with
 * Cross-Shaped Windows", CVPR 2022), as the authors' {@code models/cswin.py}
 * (microsoft/CSWin-Transformer): a 7×7 stride-4 conv embedding with LayerNorm, four stages of
 * {@code CSWinBlock}s joined by {@code Merge_Block}s (3×3 stride-2 conv + LayerNorm), a final
 * LayerNorm, the mean over tokens and a linear head.
 *
 * <p>A block's attention ({@code LePEAttention}): one fused qkv projection; unless the block is in
 * the last stage or its stripe width equals its map, the first half of the channels (and heads)
 * attend within vertical stripes ({@code map × sw}, upstream {@code idx 0}) and the second half
 * within horizontal ones ({@code sw × map}, {@code idx 1}); otherwise all channels attend over the
 * whole map. Each branch is one {@link StripeAttention} node ({@code StripeAttention2D}, the full
 * map being a single stripe), plus LePE: a 3×3 depthwise conv ({@code get_v}) of the values of each
 * stripe on its own (zero padded at the stripe's border), added to the attention output.
 *
 * <p>Variant names are the authors' registered model names ({@code @register_model} functions);
 * {@code CSWin_144_24322_large_224_22k} is the ImageNet-22k pre-trained large model (the authors'
 * large constructor with a 21841-class head).
 */
public final class CSWin extends FamilyArchitecture<CSWin.Config> {
    static final float EPS = 1e-5f;

    /**
     * {@code splitSize}: stripe width per stage; {@code inlineStripes}: emit the stripe attention's
     * standard nodes instead of the custom-op node (the {@link StripeAttention} inline form).
     */
    public record Config(int imgSize, int numClasses, int embedDim, int[] depth, int[] splitSize, int[] numHeads, double mlpRatio,
                         boolean inlineStripes) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }

        /** The parameter count of the authors' constructor for this configuration. */
        public long parameterCount() {
            long c = embedDim, n = 3 * c * 49 + c + 2 * c;
            for (int i = 0; i < 4; i++) {
                if (i > 0) {
                    n += c * 2 * c * 9 + 2 * c + 4 * c;
                    c *= 2;
                }
                long hidden = (long) (c * mlpRatio);
                n += depth[i] * (2 * c + 3 * c * c + 3 * c + 10 * c + c * c + c + 2 * c + c * hidden + hidden + hidden * c + c);
            }
            return n + 2 * c + c * numClasses + numClasses;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] s224 = {1, 2, 7, 7}, s384 = {1, 2, 12, 12}, d = {2, 4, 32, 2};
        m.put("CSWin_64_12211_tiny_224", new Config(224, 1000, 64, new int[]{1, 2, 21, 1}, s224, new int[]{2, 4, 8, 16}, 4, false));
        m.put("CSWin_64_24322_small_224", new Config(224, 1000, 64, d, s224, new int[]{2, 4, 8, 16}, 4, false));
        m.put("CSWin_96_24322_base_224", new Config(224, 1000, 96, d, s224, new int[]{4, 8, 16, 32}, 4, false));
        m.put("CSWin_144_24322_large_224", new Config(224, 1000, 144, d, s224, new int[]{6, 12, 24, 24}, 4, false));
        m.put("CSWin_96_24322_base_384", new Config(384, 1000, 96, d, s384, new int[]{4, 8, 16, 32}, 4, false));
        m.put("CSWin_144_24322_large_384", new Config(384, 1000, 144, d, s384, new int[]{6, 12, 24, 24}, 4, false));
        m.put("CSWin_144_24322_large_224_22k", new Config(224, 21841, 144, d, s224, new int[]{6, 12, 24, 24}, 4, false));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public CSWin(String name, Config cfg, Preprocessing pre) {
        super("cswin", name, cfg, pre);
    }

    /** The authors' eval transform (timm, their default_cfgs): bicubic, crop 0.9 at 224, 1.0 at 384. */
    public static Preprocessing preprocessing(int imgSize) {
        return Preprocessing.imagenet(imgSize, imgSize == 384 ? 1.0 : 0.9, "bicubic");
    }

    public static CSWin variant(String name) {
        Config c = lookup(VARIANTS, "CSWin", name);
        return new CSWin(name, c, preprocessing(c.imgSize()));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim();
        Scope st = w.scope("stage1_conv_embed");
        Value x = g.conv2d(image, st.scope("0").param("weight", c, 3, 7, 7), st.scope("0").param("bias", c), new int[]{4, 4},
                new int[]{2, 2, 2, 2}, new int[]{1, 1}, 1);
        int res = Math.toIntExact(x.dim(2));
        if (res != cfg.imgSize() / 4) throw new IllegalArgumentException("CSWin " + name + " expects " + cfg.imgSize() + "px inputs");
        Value t = LayerNorm.apply(st.scope("2"), g.transpose(g.reshape(x, -1, c, (long) res * res), 0, 2, 1), c, EPS);
        Taps taps = Taps.of(g);
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                Scope mg = w.scope("merge" + i);
                Value img = g.reshape(g.transpose(t, 0, 2, 1), -1, c, res, res);
                Value y = g.conv2d(img, mg.scope("conv").param("weight", 2L * c, c, 3, 3), mg.scope("conv").param("bias", 2L * c),
                        new int[]{2, 2}, new int[]{1, 1, 1, 1}, new int[]{1, 1}, 1);
                c *= 2;
                res = Math.toIntExact(y.dim(2));
                t = LayerNorm.apply(mg.scope("norm"), g.transpose(g.reshape(y, -1, c, (long) res * res), 0, 2, 1), c, EPS);
            }
            for (int j = 0; j < cfg.depth()[i]; j++) {
                Scope b = w.scope("stage" + (i + 1), j);
                final Value in = t;
                final int cc = c, rr = res, si = i;
                t = g.named("stage" + (i + 1) + "." + j, () -> block(b, in, cc, rr, cfg.numHeads()[si], cfg.splitSize()[si], si == 3));
            }
            // segmentation/backbone/cswin_transformer.py CSWin.save_out: each stage's tokens through
            // its own LayerNorm norm{i+1}, as NCHW (the stages go on from the tokens before it)
            final Value out = t;
            final int cc = c, rr = res, si = i;
            taps.feature(i, () -> g.reshape(g.transpose(stageNorm(w, si + 1, out, cc), 0, 2, 1), -1, cc, rr, rr));
        }
        t = LayerNorm.apply(w.scope("norm"), t, c, EPS);
        Value pooled = g.op1("ReduceMean", new Value[]{t}, t.dtype(), new long[]{t.dim(0), c}, Attr.ints("axes", 1), Attr.i("keepdims", 0));
        taps.embedding(pooled);                             // forward_features: norm, mean over tokens
        Scope h = w.scope("head");
        return g.gemm(pooled, h.param("weight", cfg.numClasses(), c), h.param("bias", cfg.numClasses()), true);
    }

    /**
     * The segmentation backbone's per-stage {@code norm{i}} on tokens: read from the checkpoint where
     * it holds one (a segmentation checkpoint); otherwise the LayerNorm its init_weights sets
     * (weight 1, bias 0), as the backbone has on an ImageNet checkpoint, which it loads with
     * strict=False before segmentation training.
     */
    private static Value stageNorm(Scope w, int i, Value tokens, int c) {
        return LayerNorm.applyOrInitial(w.scope("norm" + i), tokens, c, EPS);
    }

    /**
     * The pre-logits vector (final norm, mean over tokens) and the segmentation backbone's four
     * stage outputs at strides 4, 8, 16, 32 (segmentation/backbone/cswin_transformer.py).
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.embedDim(), 4, 4);
    }

    /** Token-map side of each stage: the 7x7 stride-4 embedding (padding 2), then 3x3 stride-2 merges (padding 1). */
    static int[] stageSides(int img) {
        int[] r = new int[4];
        r[0] = (img - 3) / 4 + 1;
        for (int i = 1; i < 4; i++) r[i] = (r[i - 1] + 1) / 2;
        return r;
    }

    /**
     * Another square size where every stage but the last divides into its stripes and keeps the
     * card's block layout: a stage whose map equals its stripe width has one attention branch
     * (all channels, one LePE conv) instead of two, so the weights of one layout do not fit the
     * other. Maps that do not divide would need the padding the segmentation backbone adds, which
     * we do not build.
     */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "CSWin's configuration has one image size (square inputs only)", 1);
        if (height < 32) throw badSize(height, width, "the input must be at least 32x32", 32);
        int[] r = stageSides(height), card = stageSides(cfg.imgSize());
        int[] sp = cfg.splitSize();
        for (int i = 0; i < 3; i++) {
            if (r[i] % sp[i] != 0 || (r[i] == sp[i]) != (card[i] == sp[i])) {
                int m = 32;
                for (int k = 0; k < 3; k++) m = lcm(m, sp[k] << (k + 2));
                throw badSize(height, width, "stage " + (i + 1) + "'s " + r[i] + "x" + r[i] + " map must divide into stripes of width " + sp[i]
                        + (card[i] == sp[i] ? " and equal it (one attention branch, as at " + cfg.imgSize() + ")"
                        : " and be wider than one stripe (two attention branches, as at " + cfg.imgSize() + ")")
                        + "; multiples of " + m + " px divide every stage", m);
            }
        }
        return new CSWin(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    private static int lcm(int a, int b) {
        int x = a, y = b;
        while (y != 0) {
            int t = x % y;
            x = y;
            y = t;
        }
        return a / x * b;
    }

    /** {@code CSWinBlock}: x + proj(cross-shaped attention(norm1(x))), then x + mlp(norm2(x)). Tokens [B, res², c]. */
    private Value block(Scope b, Value x, int c, int res, int heads, int split, boolean lastStage) {
        Graph g = b.graph();
        boolean single = lastStage || res == split;
        int branches = single ? 1 : 2, bh = heads / branches, hd = c / heads;
        long l = (long) res * res;
        if (!single && res % split != 0) {
            throw new IllegalArgumentException(b.prefix() + ": map " + res + " is not divisible by the stripe width " + split);
        }
        Value h1 = LayerNorm.apply(b.scope("norm1"), x, c, EPS);
        // one single-axis transpose takes the fused projection to [B, (q,k,v)·branch·head, tokens, head_dim]
        Value qkv = g.transpose(g.reshape(Linear.apply(b.scope("qkv"), h1, c, 3L * c, true), -1, l, 3L * heads, hd), 0, 2, 1, 3);
        long[] sizes = new long[3 * branches];
        java.util.Arrays.fill(sizes, bh);
        Value[] parts = g.split(qkv, 1, sizes);                                                   // [B, bh, tokens, hd] each
        float scale = (float) Math.pow(hd, -0.5);
        Value[] att = new Value[branches], pe = new Value[branches];
        for (int br = 0; br < branches; br++) {
            Value q = g.reshape(parts[br], -1, bh, res, res, hd);
            Value k = g.reshape(parts[branches + br], -1, bh, res, res, hd);
            Value v = parts[2 * branches + br];
            Orientation o = br == 0 ? Orientation.VERTICAL : Orientation.HORIZONTAL;
            int width = single ? res : split;
            att[br] = StripeAttention.apply(g, q, k, g.reshape(v, -1, bh, res, res, hd), null, null, o, width, scale, cfg.inlineStripes());
            Value img = g.reshape(g.transpose(v, 0, 1, 3, 2), -1, (long) bh * hd, res, res);          // [B, channels, res, res]
            pe[br] = lepe(b.scope("attns." + br + ".get_v"), img, o, width);
        }
        Value y = branches == 1 ? att[0] : g.concat(1, att);                                    // [B, heads, res, res, hd]
        y = g.reshape(g.transpose(y, 0, 2, 3, 1, 4), -1, l, c);
        Value lp = branches == 1 ? pe[0] : g.concat(1, pe);                                     // [B, c, res, res]
        y = g.add(y, g.transpose(g.reshape(lp, -1, c, l), 0, 2, 1));
        x = g.add(x, Linear.apply(b.scope("proj"), y, c, c, true));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, EPS);
        return g.add(x, Mlp.apply(b.scope("mlp"), h2, c, (long) (c * cfg.mlpRatio()), c));
    }

    /**
     * LePE: the 3×3 depthwise {@code get_v} conv of each stripe's values on its own (zero padded at
     * the stripe border), as upstream's {@code get_lepe}, on the image {@code [B, channels, H, W]}
     * without cutting it into stripes: the stripes are spaced apart by one zero column (row) on
     * each side, one conv runs over the spaced image (no padding across the stripes), and the
     * spacing is dropped again.
     */
    static Value lepe(Scope s, Value img, Orientation o, int width) {
        Graph g = s.graph();
        long ch = img.dim(1), h = img.dim(2), w = img.dim(3);
        Value wt = s.param("weight", ch, 1, 3, 3), bias = s.param("bias", ch);
        int[] one = {1, 1};
        long side = o == Orientation.VERTICAL ? w : h, n = side / width;
        if (n == 1) return g.conv2d(img, wt, bias, one, new int[]{1, 1, 1, 1}, one, Math.toIntExact(ch));
        long before = g.macs();
        boolean v = o == Orientation.VERTICAL;
        Value x = v ? g.reshape(img, -1, ch, h, n, width) : g.reshape(img, -1, ch, n, width, w);
        int ax = v ? 4 : 3;                                                                       // the stripe's own axis
        long[] pads = new long[10];
        pads[ax] = 1;
        pads[5 + ax] = 1;
        x = g.pad(x, pads, 0f);
        long spaced = n * (width + 2);
        x = v ? g.reshape(x, -1, ch, h, spaced) : g.reshape(x, -1, ch, spaced, w);
        // pad only along the other axis: across the stripes the spacing zeros are the padding
        x = g.conv2d(x, wt, bias, one, v ? new int[]{1, 0, 1, 0} : new int[]{0, 1, 0, 1}, one, Math.toIntExact(ch));
        x = g.pad(x, v ? new long[]{0, 0, 0, 0, 0, 0, 0, 2} : new long[]{0, 0, 0, 0, 0, 0, 2, 0}, 0f);
        x = v ? g.reshape(x, -1, ch, h, n, width + 2) : g.reshape(x, -1, ch, n, width + 2, w);
        x = g.slice(x, ax, 0, width);
        g.addMacs(9 * ch * h * w - (g.macs() - before));                                       // count upstream's conv, not the spacing
        return g.reshape(x, -1, ch, h, w);
    }
}
