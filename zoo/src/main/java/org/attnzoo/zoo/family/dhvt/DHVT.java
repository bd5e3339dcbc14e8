package org.attnzoo.zoo.family.dhvt;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.BatchNorm;
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
 * DHVT (Lu et al., NeurIPS 2022, "Bridging the Gap Between Vision Transformers and Convolutional
 * Neural Networks on Small Datasets"), as the authors' {@code vision_transformer.py}
 * ({@code VisionTransformer(apply_dhvt=True)}):
 * <ul>
 *   <li>SOPE patch embedding: a per-channel affine on the image, stride-2 3×3 conv + BatchNorm
 *       layers joined by GELU (four for patch 16, two for patch 4, one then GELU for patch 2), a
 *       per-channel affine; a class token, no position embedding;</li>
 *   <li>HI-MHSA: one head token per head made from the mean of all tokens (per-head slice →
 *       Linear to the full width → LayerNorm over head-size groups → GELU, plus a learnt position
 *       embedding), attended together with the tokens; their outputs averaged into the class
 *       token's;</li>
 *   <li>DAFF: the patch tokens as a map through 1×1 conv-BN-GELU, a residual depthwise 3×3
 *       conv-BN-GELU, 1×1 conv-BN; the class token scaled by a squeeze-excitation of that map.</li>
 * </ul>
 * Pre-norm blocks (LayerNorm eps 1e-6), final LayerNorm, class-token head. BatchNorms (the stem's
 * SyncBatchNorm included) run on their running statistics and fold into the convs.
 */
public final class DHVT extends FamilyArchitecture<DHVT.Config> {

    /** The constructor arguments the registered models vary ({@code num_classes}: the dataset's, as main.py sets it). */
    public record Config(int imgSize, int numClasses, int patchSize, int embedDim, int depth, int numHeads, double mlpRatio,
                         boolean qkvBias) implements ImageConfig {
        public Config {
            if (patchSize != 2 && patchSize != 4 && patchSize != 16) {
                throw new IllegalArgumentException("DHVT's SOPE stem exists for patch sizes 2, 4 and 16, not " + patchSize);
            }
            if (embedDim % numHeads != 0) throw new IllegalArgumentException("embedDim " + embedDim + " not divisible by numHeads " + numHeads);
        }

        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("dhvt_tiny_cifar_patch4", new Config(32, 100, 4, 192, 12, 4, 4, true));
        m.put("dhvt_small_cifar_patch4", new Config(32, 100, 4, 384, 12, 8, 4, true));
        m.put("dhvt_tiny_cifar_patch2", new Config(32, 100, 2, 192, 12, 4, 4, true));
        m.put("dhvt_small_cifar_patch2", new Config(32, 100, 2, 384, 12, 8, 4, true));
        m.put("dhvt_tiny_domain_patch16", new Config(224, 345, 16, 192, 12, 4, 4, true));
        m.put("dhvt_small_domain_patch16", new Config(224, 345, 16, 384, 12, 6, 4, true));
        m.put("dhvt_tiny_imagenet_patch16", new Config(224, 1000, 16, 192, 12, 3, 4, true));
        m.put("dhvt_small_imagenet_patch16", new Config(224, 1000, 16, 384, 12, 6, 4, true));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public DHVT(String name, Config cfg, Preprocessing pre) {
        super("dhvt", name, cfg, pre);
    }

    /**
     * The authors' eval transform (datasets.py build_transform): above 32 pixels resize to 256/224 of
     * the size (bicubic) and centre crop; at 32 (CIFAR) the image as it is; ImageNet mean and std.
     */
    public static DHVT variant(String name) {
        Config c = lookup(VARIANTS, "DHVT", name);
        double crop = c.imgSize() > 32 ? 224.0 / 256 : 1.0;
        return new DHVT(name, c, Preprocessing.imagenet(c.imgSize(), crop, "bicubic"));
    }


    /**
     * Any square multiple of the patch size: DHVT has no absolute position table (SOPE and DAFF are
     * convolutions, the head tokens are computed from the map), so the same weights serve every size.
     */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        int p = cfg.patchSize();
        if (height != width) throw badSize(height, width, "DHVT needs a square token map (square inputs only)", p);
        if (height % p != 0 || height < p) throw badSize(height, width, "the size must be a multiple of the patch size " + p, p);
        return new DHVT(name, org.attnzoo.zoo.arch.ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    /** Isotropic: the normed class token the head reads; no feature pyramid. */
    @Override
    public org.attnzoo.zoo.arch.Backbone backbone() {
        return org.attnzoo.zoo.arch.Backbone.embeddingOnly(cfg.embedDim());
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim();
        Value x = g.named("patch_embed", () -> sope(w.scope("patch_embed"), image));
        int gh = Math.toIntExact(x.dim(2)), gw = Math.toIntExact(x.dim(3));
        if (gh != gw) throw new IllegalArgumentException("DHVT needs a square token map, got " + gh + "x" + gw);
        int n = gh * gw + 1;
        Value tokens = g.transpose(g.reshape(x, -1, c, (long) gh * gw), 0, 2, 1);
        Value cls = g.expandBatch(w.param("cls_token", 1, 1, c), tokens);
        tokens = g.concat(1, cls, tokens);
        for (int i = 0; i < cfg.depth(); i++) {
            Scope b = w.scope("blocks", i);
            final Value in = tokens;
            tokens = g.named("blocks." + i, () -> block(b, in, gh, n));
        }
        tokens = LayerNorm.apply(w.scope("norm"), tokens, c, 1e-6f);
        Value clsOut = g.reshape(g.split(tokens, 1, 1, n - 1)[0], -1, c);
        org.attnzoo.zoo.arch.Taps.of(g).embedding(clsOut);   // what head reads: the normed class token
        Scope h = w.scope("head");
        return g.gemm(clsOut, h.param("weight", cfg.numClasses(), c), h.param("bias", cfg.numClasses()), true);
    }

    /** SOPE: affine, the conv-BN stack, affine; a [B, C, H/p, W/p] map. */
    private Value sope(Scope s, Value image) {
        Graph g = s.graph();
        int c = cfg.embedDim();
        Value x = affine(s.scope("pre_affine"), image, 3);
        int[] widths = switch (cfg.patchSize()) {
            case 16 -> new int[]{c / 8, c / 4, c / 2, c};
            case 4 -> new int[]{c / 2, c};
            default -> new int[]{c};
        };
        Scope proj = s.scope("proj");
        for (int i = 0; i < widths.length; i++) {
            x = convBn(proj.scope(Integer.toString(2 * i)), x, widths[i], 3, 2, 1, false);
            if (i < widths.length - 1 || cfg.patchSize() == 2) x = g.gelu(x);
        }
        return affine(s.scope("post_affine"), x, c);
    }

    /** {@code x · alpha + beta} with {@code [1, C, 1, 1]} parameters. */
    private static Value affine(Scope s, Value x, int c) {
        Graph g = s.graph();
        return g.add(g.mul(x, s.param("alpha", 1, c, 1, 1)), s.param("beta", 1, c, 1, 1));
    }

    /** {@code Sequential(conv, BN)} (keys {@code .0}, {@code .1}) as one conv, padding {@code k/2}. */
    private static Value convBn(Scope s, Value x, int out, int k, int stride, int groups, boolean bias) {
        return convThenBn(s.scope("0"), s.scope("1"), x, out, k, stride, groups, bias);
    }

    private static Value convThenBn(Scope conv, Scope bn, Value x, int out, int k, int stride, int groups, boolean bias) {
        return BatchNorm.convFolded(conv, bn, x, out, k, stride, groups, bias, BatchNorm.DEFAULT_EPS);
    }

    private Value block(Scope b, Value x, int side, int n) {
        Graph g = b.graph();
        int c = cfg.embedDim();
        x = g.add(x, hiAttention(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), x, c, 1e-6f), n));
        return g.add(x, daff(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), x, c, 1e-6f), side, n));
    }

    /** HI-MHSA on normalised tokens {@code [B, n, C]} (class token first). */
    private Value hiAttention(Scope a, Value x, int n) {
        Graph g = a.graph();
        int c = cfg.embedDim(), heads = cfg.numHeads(), hd = c / heads;
        // head tokens: per head, the mean over all tokens of its channel slice, projected to the full width
        Value mean = g.reshape(g.reduceMean(x, false, 1), -1, heads, hd);                   // [B, h, d]
        Value ht = Linear.apply(a.scope("ht_proj"), mean, hd, c, true);                    // [B, h, C]
        ht = g.reshape(ht, -1, heads, heads, hd);
        ht = g.gelu(LayerNorm.apply(a.scope("ht_norm"), ht, hd, 1e-5f));
        ht = g.add(g.reshape(ht, -1, heads, c), a.param("pos_embed", 1, heads, c));
        Value all = g.concat(1, x, ht);                                                     // [B, n + h, C]
        Value out = Attention.mhsa(a, all, c, heads, cfg.qkvBias());
        Value[] p = g.split(out, 1, 1, n - 1, heads);
        Value cls = g.add(p[0], g.reduceMean(p[2], true, 1));
        return g.concat(1, cls, p[1]);
    }

    /** DAFF on normalised tokens {@code [B, n, C]}: convolutions over the patch map, the class token re-weighted. */
    private Value daff(Scope m, Value x, int side, int n) {
        Graph g = m.graph();
        int c = cfg.embedDim(), hidden = (int) (c * cfg.mlpRatio());
        Value[] p = g.split(x, 1, 1, n - 1);
        Value map = g.reshape(g.transpose(p[1], 0, 2, 1), -1, c, side, side);
        Value y = g.gelu(convThenBn(m.scope("conv1"), m.scope("bn1"), map, hidden, 1, 1, 1, true));
        y = g.add(y, g.gelu(convThenBn(m.scope("conv2"), m.scope("bn2"), y, hidden, 3, 1, hidden, true)));
        y = convThenBn(m.scope("conv3"), m.scope("bn3"), y, c, 1, 1, 1, true);
        Value squeeze = g.reshape(g.globalAvgPool(y), -1, 1, c);
        Value weight = Linear.apply(m.scope("excitation"), g.gelu(Linear.apply(m.scope("compress"), squeeze, c, c / 4, true)), c / 4, c, true);
        Value cls = g.mul(p[0], weight);
        Value tokens = g.transpose(g.reshape(y, -1, c, (long) side * side), 0, 2, 1);
        return g.concat(1, cls, tokens);
    }

    @Override
    public String toString() {
        return name + " " + cfg.embedDim() + "x" + cfg.depth() + " p" + cfg.patchSize();
    }
}
