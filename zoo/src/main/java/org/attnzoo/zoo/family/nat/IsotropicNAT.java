package org.attnzoo.zoo.family.nat;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.sdk.graph.ShapeException;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The isotropic (ViT-like, single-resolution) models of the DiNAT paper: NAT-iso, DiNAT-iso and
 * the ViT-rpb baseline (authors' {@code classification/isotropic.py}, class {@code NATIsotropic}).
 * {@code patch_embed.proj} (p×p stride-p conv, image zero-padded to a multiple of p) +
 * {@code patch_embed.norm} → {@code layers.i.{norm1, attn.{qkv, rpb, proj}, norm2, mlp.{fc1, fc2}}}
 * → {@code norm} → mean over tokens → {@code head}. NAT/DiNAT-iso layers are neighbourhood attention
 * ({@code NeighborhoodAttention2D} nodes, dilation 1 on even layers and {@code dilation} on odd ones);
 * ViT-rpb ({@code kernelSize == 0}) layers are global softmax attention over the fixed
 * {@code (img/p)²} tokens plus a relative-position bias {@code rpb [heads, 2L-1, 2L-1]} gathered at
 * {@code (key - query) + L - 1} per axis (the authors' flipped index buffer
 * {@code relative_position_index} is recomputed here, so it may stay unused).
 */
public final class IsotropicNAT extends FamilyArchitecture<IsotropicNAT.Config> {

    /** The authors' {@code NATIsotropic} constructor arguments; {@code kernelSize} 0 = ViT-rpb layers. */
    public record Config(int imgSize, int inChans, int numClasses, int patchSize, int embedDim, int depth, int numHeads,
                         double mlpRatio, int kernelSize, int dilation, boolean qkvBias, boolean patchNorm) implements ImageConfig {
        public boolean global() {
            return kernelSize == 0;
        }

        public int featureMapSize() {
            return imgSize / patchSize;
        }

        public int dilation(int layer) {
            return layer % 2 == 0 ? 1 : dilation;
        }

        /** Parameter count of the upstream module, from the shapes alone. */
        public long parameterCount() {
            long c = embedDim;
            long side = global() ? 2L * featureMapSize() - 1 : 2L * kernelSize - 1;
            long n = (long) inChans * c * patchSize * patchSize + c + (patchNorm ? 2 * c : 0);
            n += depth * NaLayers.layerParams(c, numHeads, side, mlpRatio, qkvBias, false);
            return n + 2 * c + c * numClasses + numClasses;
        }
    }

    private static Config cfg(int embed, int heads, int kernel, int dilation) {
        return new Config(224, 3, 1000, 16, embed, 12, heads, 4, kernel, dilation, true, true);
    }

    /** The named variants (authors' registrations in isotropic.py). */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("nat_isotropic_small", cfg(384, 12, 7, 1));
        m.put("dinat_isotropic_small", cfg(384, 12, 7, 2));
        m.put("vitrpb_small", cfg(384, 12, 0, 1));
        m.put("nat_isotropic_base", cfg(768, 24, 7, 1));
        m.put("dinat_isotropic_base", cfg(768, 24, 7, 2));
        m.put("vitrpb_base", cfg(768, 24, 0, 1));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public IsotropicNAT(String name, Config cfg, Preprocessing pre) {
        super(cfg.global() ? "vitrpb" : cfg.dilation() > 1 ? "dinat" : "nat", name, cfg, pre);
    }

    public static IsotropicNAT variant(String name) {
        Config c = lookup(VARIANTS, "isotropic NAT", name);
        return new IsotropicNAT(name, c, NaLayers.preprocessing(c.imgSize()));
    }

    @Override
    public void declareIgnorable(Weights w) {
        w.ignoreUnused(k -> k.endsWith(".attn.relative_position_index"));
    }

    /** Isotropic (one token map throughout): the pre-logits vector only, no feature pyramid. */
    @Override
    public Backbone backbone() {
        return Backbone.embeddingOnly(cfg.embedDim());
    }

    /**
     * NAT/DiNAT-iso at any square multiple of the patch size whose token map holds the kernel at the
     * largest dilation (NATTEN's rule; neighbourhood windows and their bias tables do not depend on
     * the map size). ViT-rpb cannot: its relative-position table is sized by the card's token map.
     */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (cfg.global()) {
            throw fixedSize(height, width, "ViT-rpb's relative-position table rpb is sized for the card's "
                    + cfg.featureMapSize() + "x" + cfg.featureMapSize() + " token map");
        }
        int p = cfg.patchSize(), need = cfg.kernelSize() * Math.max(1, cfg.dilation());
        if (height != width) throw badSize(height, width, "one token map side (square inputs only)", p);
        if (height % p != 0) throw badSize(height, width, "the size must be a multiple of the patch size " + p, p);
        if (height / p < need) {
            throw new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": the token map must be at least kernel x dilation = "
                    + need + " tokens a side (smallest valid size " + need * p + "x" + need * p + ")");
        }
        return new IsotropicNAT(name, org.attnzoo.zoo.arch.ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        long c = cfg.embedDim();
        int p = cfg.patchSize(), fm = cfg.featureMapSize();
        Scope pe = w.scope("patch_embed");
        Scope proj = pe.scope("proj");
        Value x = g.conv2d(NaLayers.padToMultipleNchw(g, image, p), proj.param("weight", c, cfg.inChans(), p, p), proj.param("bias", c),
                new int[]{p, p}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        if (x.dim(2) != fm || x.dim(3) != fm) {
            throw new ShapeException(name + ": patch grid " + x.dim(2) + "x" + x.dim(3) + " must be " + fm + "x" + fm + " (img_size / patch_size)");
        }
        x = g.transpose(x, 0, 2, 3, 1);
        if (cfg.patchNorm()) x = LayerNorm.apply(pe.scope("norm"), x, c, NaLayers.EPS);
        Value rpbIndex = cfg.global() ? g.intsTensor("rpb_index", rpbIndex(fm), (long) fm * fm, (long) fm * fm) : null;
        for (int i = 0; i < cfg.depth(); i++) {
            final Value in = x;
            final int dil = cfg.dilation(i);
            Scope b = w.scope("layers", i);
            x = g.named("layers." + i, () -> NaLayers.layer(b, in, c, cfg.mlpRatio(), 0,
                    y -> cfg.global() ? globalAttentionRpb(b.scope("attn"), y, c, cfg.numHeads(), fm, rpbIndex, cfg.qkvBias())
                            : NaLayers.neighborhoodAttention(b.scope("attn"), y, c, cfg.numHeads(), cfg.kernelSize(), dil, cfg.qkvBias())));
        }
        x = LayerNorm.apply(w.scope("norm"), x, c, NaLayers.EPS);
        Value pooled = g.reduceMean(x, false, 1, 2);
        Taps.of(g).embedding(pooled);                       // forward_features: norm, then mean over tokens
        return Linear.apply(w.scope("head"), pooled, c, cfg.numClasses(), true);
    }

    /**
     * Flat tap into {@code rpb[h]} viewed as {@code [(2L-1)²]} for query i and key j of an L×L
     * grid (row-major tokens): {@code (ky - qy + L - 1)·(2L - 1) + (kx - qx + L - 1)}.
     */
    public static long[] rpbIndex(int side) {
        int n = side * side;
        long w = 2L * side - 1;
        long[] idx = new long[n * n];
        for (int q = 0; q < n; q++) {
            int qy = q / side, qx = q % side;
            for (int k = 0; k < n; k++) {
                int ky = k / side, kx = k % side;
                idx[q * n + k] = (ky - qy + side - 1) * w + (kx - qx + side - 1);
            }
        }
        return idx;
    }

    /** The authors' {@code MHSARPB}: global multi-head attention plus a gathered relative-position bias. */
    static Value globalAttentionRpb(Scope s, Value x, long d, int heads, int side, Value rpbIndex, boolean qkvBias) {
        Graph g = s.graph();
        long n = (long) side * side, hd = d / heads, tw = 2L * side - 1;
        if (x.dim(1) != side || x.dim(2) != side) {
            throw new ShapeException("MHSARPB: feature map " + x + " must be " + side + "x" + side);
        }
        Value tokens = g.reshape(x, -1, n, d);
        Attention.Heads h = Attention.splitHeads(g, Linear.apply(s.scope("qkv"), tokens, d, 3 * d, qkvBias), d, heads);
        Value q = g.mul(h.q(), (float) Math.pow((double) hd, -0.5));
        Value logits = g.matMul(q, h.kT());                                    // [B, heads, N, N]
        Value table = g.reshape(s.param("rpb", heads, tw, tw), heads, tw * tw);
        logits = g.add(logits, g.gather(table, rpbIndex, 1));                  // + [heads, N, N]
        Value y = g.matMul(g.softmax(logits, -1), h.v());
        y = g.reshape(Attention.mergeHeads(g, y), -1, side, side, d);
        return Linear.apply(s.scope("proj"), y, d, d, true);
    }
}
