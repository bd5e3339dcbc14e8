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
 * DiNAT<sub>s</sub> (Hassani &amp; Shi, 2022): the Swin hierarchy with window attention replaced by
 * neighbourhood attention and shifted-window attention by dilated neighbourhood attention
 * ({@code NeighborhoodAttention2D} nodes). Weight names follow the authors'
 * {@code classification/dinats.py}: {@code patch_embed.proj} (p×p stride-p conv; the image is
 * zero-padded bottom/right to a multiple of p first) + {@code patch_embed.norm}, then
 * {@code layers.L.blocks.B.{norm1, attn.{qkv, rpb, proj}, norm2, mlp.{fc1, fc2}}} and Swin's
 * {@code layers.L.downsample.{norm, reduction}} patch merging (odd sides zero-padded bottom/right;
 * 2×2 neighbours concatenated in the order (0,0), (1,0), (0,1), (1,1); LayerNorm over 4C; Linear
 * 4C→2C without bias), {@code norm}, mean over tokens, {@code head}. NHWC throughout, LayerNorm eps 1e-5.
 */
public final class DiNATs extends FamilyArchitecture<DiNATs.Config> {

    /** The authors' {@code DiNAT_s} constructor arguments; {@code dilations} null means dilation 1 everywhere. */
    public record Config(int imgSize, int inChans, int numClasses, int patchSize, int embedDim, int[] depths, int[] numHeads,
                         double mlpRatio, int kernelSize, int[][] dilations, boolean qkvBias, boolean patchNorm) implements ImageConfig {
        public int dilation(int level, int block) {
            return dilations == null ? 1 : dilations[level][block];
        }

        /** Parameter count of the upstream module, from the shapes alone. */
        public long parameterCount() {
            long c = embedDim, k = 2L * kernelSize - 1;
            long n = (long) inChans * c * patchSize * patchSize + c + (patchNorm ? 2 * c : 0);
            for (int i = 0; i < depths.length; i++) {
                long d = c << i;
                n += depths[i] * NaLayers.layerParams(d, numHeads[i], k, mlpRatio, qkvBias, false);
                if (i < depths.length - 1) n += 2 * 4 * d + 4 * d * 2 * d;
            }
            long f = c << (depths.length - 1);
            return n + 2 * f + f * numClasses + numClasses;
        }
    }

    private static int[] alternating(int n, int d) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i % 2 == 0 ? 1 : d;
        return r;
    }

    private static int[][] dilations(int[] depths, int d0, int d1, int d2) {
        return new int[][]{alternating(depths[0], d0), alternating(depths[1], d1), alternating(depths[2], d2), alternating(depths[3], 1)};
    }

    private static Config cfg(int img, int embed, int[] depths, int[] heads, int d0, int d1, int d2) {
        return new Config(img, 3, 1000, 4, embed, depths, heads, 4, 7, dilations(depths, d0, d1, d2), true, true);
    }

    /** The named variants (authors' registrations in dinats.py). */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] d6 = {2, 2, 6, 2}, d18 = {2, 2, 18, 2};
        int[] h3 = {3, 6, 12, 24}, h4 = {4, 8, 16, 32}, h6 = {6, 12, 24, 48};
        m.put("dinat_s_tiny", cfg(224, 96, d6, h3, 8, 4, 2));
        m.put("dinat_s_small", cfg(224, 96, d18, h3, 8, 4, 2));
        m.put("dinat_s_base", cfg(224, 128, d18, h4, 8, 4, 2));
        m.put("dinat_s_large", cfg(224, 192, d18, h6, 8, 4, 2));
        m.put("dinat_s_large_384", cfg(384, 192, d18, h6, 13, 6, 3));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public DiNATs(String name, Config cfg, Preprocessing pre) {
        super("dinat", name, cfg, pre);
    }

    public static DiNATs variant(String name) {
        Config c = lookup(VARIANTS, "DiNAT-s", name);
        return new DiNATs(name, c, NaLayers.preprocessing(c.imgSize()));
    }

    /**
     * The pre-logits vector (final norm, mean over tokens) and the authors' detection backbone
     * outputs (detection/dinats.py DiNAT_s): every layer at strides p, 2p, 4p, 8p (p the patch size),
     * before its patch merging, through {@code norm{i}} (see {@link NAT#outputNorm}).
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.embedDim(), cfg.patchSize(), cfg.depths().length);
    }

    /**
     * Any square size whose every layer is at least kernel × (that layer's largest dilation) tokens
     * on a side: the patch embedding and the merges pad (sides round up) and the weights do not
     * depend on the size. Smaller maps would need NATTEN's zero padding of the attention input,
     * which we do not build.
     */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "DiNAT-s's configuration has one image size (square inputs only)", 1);
        int min = minSize();
        if (height < min) {
            throw badSize(height, width, "every layer's token map must be at least kernel x dilation on a side; the smallest valid size is "
                    + min + "x" + min + " (any size from there)", 1);
        }
        return new DiNATs(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    private int minSize() {
        int n = cfg.depths().length;
        for (int img = 1; ; img++) {
            int x = (img + cfg.patchSize() - 1) / cfg.patchSize();
            boolean ok = true;
            for (int i = 0; i < n && ok; i++) {
                int dil = 1;
                for (int j = 0; j < cfg.depths()[i]; j++) dil = Math.max(dil, cfg.dilation(i, j));
                ok = x >= cfg.kernelSize() * dil;
                x = (x + 1) / 2;
            }
            if (ok) return img;
        }
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        long c = cfg.embedDim();
        int p = cfg.patchSize();
        Scope pe = w.scope("patch_embed");
        Scope proj = pe.scope("proj");
        Value x = g.conv2d(NaLayers.padToMultipleNchw(g, image, p), proj.param("weight", c, cfg.inChans(), p, p), proj.param("bias", c),
                new int[]{p, p}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        x = g.transpose(x, 0, 2, 3, 1);
        if (cfg.patchNorm()) x = LayerNorm.apply(pe.scope("norm"), x, c, NaLayers.EPS);
        int levels = cfg.depths().length;
        Taps taps = Taps.of(g);
        for (int i = 0; i < levels; i++) {
            long d = c << i;
            Scope lv = w.scope("layers", i);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                final Value in = x;
                final int heads = cfg.numHeads()[i], dil = cfg.dilation(i, j);
                Scope b = lv.scope("blocks", j);
                x = g.named("layers." + i + ".blocks." + j, () -> NaLayers.layer(b, in, d, cfg.mlpRatio(), 0,
                        y -> NaLayers.neighborhoodAttention(b.scope("attn"), y, d, heads, cfg.kernelSize(), dil, cfg.qkvBias())));
            }
            // detection/dinats.py DiNAT_s: each layer's output before its patch merging, through norm{i}
            final Value xo = x;
            final int level = i;
            taps.feature(i, () -> g.transpose(NAT.outputNorm(w, level, xo, d), 0, 3, 1, 2));
            if (i < levels - 1) {
                final Value in = x;
                x = g.named("layers." + i + ".downsample", () -> patchMerging(lv.scope("downsample"), in, d));
            }
        }
        long f = c << (levels - 1);
        x = LayerNorm.apply(w.scope("norm"), x, f, NaLayers.EPS);
        Value pooled = g.reduceMean(x, false, 1, 2);
        taps.embedding(pooled);                             // forward_features: norm, then mean over tokens
        return Linear.apply(w.scope("head"), pooled, f, cfg.numClasses(), true);
    }

    /** Swin's PatchMerging on NHWC {@code x [B, H, W, d]} → {@code [B, ⌈H/2⌉, ⌈W/2⌉, 2d]}. */
    static Value patchMerging(Scope s, Value x, long d) {
        Graph g = s.graph();
        long h = x.dim(1), wd = x.dim(2);
        if (h % 2 == 1 || wd % 2 == 1) {
            x = g.pad(x, new long[]{0, 0, 0, 0, 0, h % 2, wd % 2, 0}, 0f);
            h += h % 2;
            wd += wd % 2;
        }
        // [B, H/2, a, W/2, b, d] -> [B, H/2, W/2, b, a, d]: channel blocks (a,b) = (0,0), (1,0), (0,1), (1,1)
        Value t = g.reshape(x, -1, h / 2, 2, wd / 2, 2, d);
        t = g.transpose(t, 0, 1, 3, 4, 2, 5);
        t = g.reshape(t, -1, h / 2, wd / 2, 4 * d);
        t = LayerNorm.apply(s.scope("norm"), t, 4 * d, NaLayers.EPS);
        return Linear.apply(s.scope("reduction"), t, 4 * d, 2 * d, false);
    }
}
