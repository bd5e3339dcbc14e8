package org.attnzoo.zoo.family.nat;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * NAT (Hassani et al., CVPR 2023) and DiNAT (Hassani &amp; Shi, 2022): a hierarchical transformer
 * whose attention is neighbourhood attention, emitted as {@code NeighborhoodAttention2D} nodes of
 * the {@code org.attnzoo.neighborhood} domain (function body runs on stock ONNX Runtime). DiNAT is
 * NAT with per-layer dilations. Weight names follow the authors' {@code classification/nat.py}:
 * {@code patch_embed.proj.{0,1}} (two 3×3 stride-2 convs) + {@code patch_embed.norm}, then
 * {@code levels.L.blocks.B.{norm1, attn.{qkv, rpb, proj}, norm2, mlp.{fc1, fc2}[, gamma1, gamma2]}},
 * {@code levels.L.downsample.{reduction, norm}} (3×3 stride-2 conv to 2C, no bias), {@code norm},
 * mean over tokens, {@code head}. Activations are NHWC between the convolutions, as upstream;
 * every LayerNorm has eps 1e-5 (torch's default).
 */
public final class NAT extends FamilyArchitecture<NAT.Config> {

    /**
     * The authors' constructor arguments. {@code dilations} is null for NAT (dilation 1 everywhere);
     * {@code layerScale} 0 means no {@code gamma1/gamma2}.
     */
    public record Config(int imgSize, int inChans, int numClasses, int embedDim, int[] depths, int[] numHeads, double mlpRatio,
                         int kernelSize, int[][] dilations, double layerScale, boolean qkvBias) implements ImageConfig {
        public int dilation(int level, int block) {
            return dilations == null ? 1 : dilations[level][block];
        }

        /** Parameter count of the upstream module, from the shapes alone. */
        public long parameterCount() {
            long c = embedDim, h = c / 2, k = 2L * kernelSize - 1;
            long n = (long) inChans * h * 9 + h + h * c * 9 + c + 2 * c;
            for (int i = 0; i < depths.length; i++) {
                long d = c << i;
                n += depths[i] * NaLayers.layerParams(d, numHeads[i], k, mlpRatio, qkvBias, layerScale != 0);
                if (i < depths.length - 1) n += d * 2 * d * 9 + 4 * d;
            }
            long f = c << (depths.length - 1);
            return n + 2 * f + f * numClasses + numClasses;
        }
    }

    private static final int[] D4 = {3, 4, 6, 5}, D18 = {3, 4, 18, 5};

    private static int[][] dinatDilations(int[] depths, int d0, int d1, int d2) {
        int[][] r = new int[4][];
        r[0] = new int[]{1, d0, 1};
        r[1] = new int[]{1, d1, 1, d1};
        r[2] = new int[depths[2]];
        for (int i = 0; i < depths[2]; i++) r[2][i] = i % 2 == 0 ? 1 : d2;
        r[3] = new int[]{1, 1, 1, 1, 1};
        return r;
    }

    private static Config cfg(int img, int embed, int[] depths, int[] heads, double mlp, int kernel, int[][] dil, double ls) {
        return new Config(img, 3, 1000, embed, depths, heads, mlp, kernel, dil, ls, true);
    }

    /** The named variants (authors' registrations in nat.py and dinat.py). */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] h2 = {2, 4, 8, 16}, h3 = {3, 6, 12, 24}, h4 = {4, 8, 16, 32}, h6 = {6, 12, 24, 48};
        m.put("nat_mini", cfg(224, 64, D4, h2, 3, 7, null, 0));
        m.put("nat_tiny", cfg(224, 64, D18, h2, 3, 7, null, 0));
        m.put("nat_small", cfg(224, 96, D18, h3, 2, 7, null, 1e-5));
        m.put("nat_base", cfg(224, 128, D18, h4, 2, 7, null, 1e-5));
        m.put("dinat_mini", cfg(224, 64, D4, h2, 3, 7, dinatDilations(D4, 8, 4, 2), 0));
        m.put("dinat_tiny", cfg(224, 64, D18, h2, 3, 7, dinatDilations(D18, 8, 4, 2), 0));
        m.put("dinat_small", cfg(224, 96, D18, h3, 2, 7, dinatDilations(D18, 8, 4, 2), 0));
        m.put("dinat_base", cfg(224, 128, D18, h4, 2, 7, dinatDilations(D18, 8, 4, 2), 1e-5));
        m.put("dinat_large", cfg(224, 192, D18, h6, 2, 7, dinatDilations(D18, 8, 4, 2), 0));
        m.put("dinat_large_384", cfg(384, 192, D18, h6, 2, 7, dinatDilations(D18, 13, 6, 3), 0));
        m.put("dinat_large_384_11x11", cfg(384, 192, D18, h6, 2, 11, dinatDilations(D18, 8, 4, 2), 0));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public NAT(String name, Config cfg, Preprocessing pre) {
        super(cfg.dilations() == null ? "nat" : "dinat", name, cfg, pre);
    }

    public static NAT variant(String name) {
        Config c = lookup(VARIANTS, "NAT/DiNAT", name);
        return new NAT(name, c, NaLayers.preprocessing(c.imgSize()));
    }

    /**
     * The pre-logits vector (final norm, mean over tokens: the classifier's {@code forward_features})
     * and the authors' detection backbone outputs: every level at strides 4, 8, 16, 32, before that
     * level's downsample, through {@code norm{i}}.
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.embedDim(), 4, cfg.depths().length);
    }

    /**
     * Any square size whose every level is at least kernel × (that level's largest dilation) tokens
     * on a side: the stem and downsamples are padded stride-2 convolutions (sides round up), and
     * the weights do not depend on the size. Smaller maps would need NATTEN's zero padding of the
     * attention input, which we do not build.
     */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "NAT's configuration has one image size (square inputs only)", 1);
        int min = minSize(cfg);
        if (height < min) {
            throw badSize(height, width, "every level's token map must be at least kernel x dilation on a side; the smallest valid size is "
                    + min + "x" + min + " (any size from there)", 1);
        }
        return new NAT(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    /** Token-map side of each level for an input side (3x3 stride-2 padded convolutions: ceil halving). */
    static int[] levelSides(int img, int levels) {
        int[] s = new int[levels];
        int x = (img + 1) / 2;
        x = (x + 1) / 2;
        for (int i = 0; i < levels; i++) {
            s[i] = x;
            x = (x + 1) / 2;
        }
        return s;
    }

    /** The smallest input side at which every level holds kernel x its largest dilation. */
    static int minSize(Config c) {
        int n = c.depths().length;
        for (int img = 1; ; img++) {
            int[] s = levelSides(img, n);
            boolean ok = true;
            for (int i = 0; i < n && ok; i++) {
                int dil = 1;
                for (int j = 0; j < c.depths()[i]; j++) dil = Math.max(dil, c.dilation(i, j));
                ok = s[i] >= c.kernelSize() * dil;
            }
            if (ok) return img;
        }
    }

    private static final float EPS = NaLayers.EPS;
    private static final int[] S2 = {2, 2}, P1 = {1, 1, 1, 1}, D1 = {1, 1};

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        long c = cfg.embedDim();
        Scope pe = w.scope("patch_embed");
        Scope p0 = pe.scope("proj.0"), p1 = pe.scope("proj.1");
        Value x = g.conv2d(image, p0.param("weight", c / 2, cfg.inChans(), 3, 3), p0.param("bias", c / 2), S2, P1, D1, 1);
        x = g.conv2d(x, p1.param("weight", c, c / 2, 3, 3), p1.param("bias", c), S2, P1, D1, 1);
        x = LayerNorm.apply(pe.scope("norm"), g.transpose(x, 0, 2, 3, 1), c, EPS);
        int levels = cfg.depths().length;
        Taps taps = Taps.of(g);
        for (int i = 0; i < levels; i++) {
            long d = c << i;
            Scope lv = w.scope("levels", i);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                final Value in = x;
                final int level = i, blk = j;
                Scope b = lv.scope("blocks", j);
                x = g.named("levels." + i + ".blocks." + j, () -> block(b, in, d, cfg.numHeads()[level], cfg.dilation(level, blk)));
            }
            // The authors' detection backbone (detection/nat.py NAT, also DiNAT) returns each level's
            // output before its downsample, through a LayerNorm norm{i} of its own.
            final Value xo = x;
            final int level = i;
            taps.feature(i, () -> g.transpose(outputNorm(w, level, xo, d), 0, 3, 1, 2));
            if (i < levels - 1) {
                Scope ds = lv.scope("downsample");
                Value t = g.transpose(x, 0, 3, 1, 2);
                t = g.conv2d(t, ds.scope("reduction").param("weight", 2 * d, d, 3, 3), null, S2, P1, D1, 1);
                x = LayerNorm.apply(ds.scope("norm"), g.transpose(t, 0, 2, 3, 1), 2 * d, EPS);
            }
        }
        long f = c << (levels - 1);
        x = LayerNorm.apply(w.scope("norm"), x, f, EPS);
        Value pooled = g.reduceMean(x, false, 1, 2);
        taps.embedding(pooled);                             // forward_features: norm, then mean over tokens
        return Linear.apply(w.scope("head"), pooled, f, cfg.numClasses(), true);
    }

    /**
     * The detection backbone's per-output {@code norm{i}} on NHWC {@code x}: read from the checkpoint
     * where it holds one (a detection checkpoint); otherwise the LayerNorm PyTorch initialises
     * (weight 1, bias 0), which is what the authors' backbone has on an ImageNet checkpoint before
     * detection training (it loads it with strict=False).
     */
    static Value outputNorm(Scope w, int level, Value x, long d) {
        return LayerNorm.applyOrInitial(w.scope("norm" + level), x, d, EPS);
    }

    /** One NATLayer on NHWC {@code x [B, H, W, d]}. */
    private Value block(Scope b, Value x, long d, int heads, int dilation) {
        return NaLayers.layer(b, x, d, cfg.mlpRatio(), cfg.layerScale(),
                y -> NaLayers.neighborhoodAttention(b.scope("attn"), y, d, heads, cfg.kernelSize(), dilation, cfg.qkvBias()));
    }
}
