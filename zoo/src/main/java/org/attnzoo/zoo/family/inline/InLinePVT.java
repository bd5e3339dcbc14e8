package org.attnzoo.zoo.family.inline;

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
 * InLine-PVT, as the authors' {@code models/inline_pvt.py} with their config defaults (attention
 * type 'IIII', no spatial reduction): four stages of patch embedding (conv + LayerNorm), a
 * position embedding and pre-norm blocks whose attention is {@link InLineAttention} with separate
 * q and kv projections; mean of the last stage's tokens, Linear.
 */
public final class InLinePVT extends FamilyArchitecture<InLinePVT.Config> {

    public record Config(int imgSize, int numClasses, int patchSize, int[] embedDims, int[] numHeads, double[] mlpRatios,
                         int[] depths, boolean qkvBias) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    private static Config v(int[] depths) {
        return new Config(224, 1000, 4, new int[]{64, 128, 320, 512}, new int[]{2, 4, 10, 16}, new double[]{8, 8, 4, 4}, depths, true);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("inline_pvt_tiny", v(new int[]{2, 2, 2, 2}));
        m.put("inline_pvt_small", v(new int[]{3, 4, 6, 3}));
        m.put("inline_pvt_medium", v(new int[]{3, 4, 18, 3}));
        m.put("inline_pvt_large", v(new int[]{3, 8, 27, 3}));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public InLinePVT(String name, Config cfg, Preprocessing pre) {
        super("inline", name, cfg, pre);
    }

    /** The authors' (Swin codebase) eval transform: resize to 256/224 of the size, centre crop, bicubic. */
    public static InLinePVT variant(String name) {
        Config c = lookup(VARIANTS, "InLine-PVT", name);
        return new InLinePVT(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    /**
     * The pre-logits vector (mean of the last stage's tokens) and the four stage outputs at strides
     * p, 2p, 4p, 8p (p the patch size); the authors' repository has no dense-prediction backbone, so
     * these are the stages' own outputs (no extra norms). The position tables fix the input size.
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDims(), cfg.patchSize());
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Value x = image;
        Value tokens = null;
        int[] e = cfg.embedDims();
        Taps taps = Taps.of(g);
        for (int i = 0; i < 4; i++) {
            int k = i == 0 ? cfg.patchSize() : 2, cin = Math.toIntExact(x.dim(1)), c = e[i];
            Scope pe = w.scope("patch_embed" + (i + 1));
            x = g.conv2d(x, pe.scope("proj").param("weight", c, cin, k, k), pe.scope("proj").param("bias", c), new int[]{k, k},
                    new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
            int h = Math.toIntExact(x.dim(2)), wd = Math.toIntExact(x.dim(3)), n = h * wd;
            int native_ = (cfg.imgSize() / cfg.patchSize()) >> i;
            if (h != native_ || wd != native_) {
                throw new IllegalArgumentException("InLine-PVT stage " + (i + 1) + " is " + h + "x" + wd + ", its position embedding "
                        + native_ + "x" + native_ + " (use img_size " + cfg.imgSize() + ")");
            }
            tokens = g.transpose(g.reshape(x, -1, c, n), 0, 2, 1);
            tokens = LayerNorm.apply(pe.scope("norm"), tokens, c, 1e-5f);
            tokens = g.add(tokens, w.param("pos_embed" + (i + 1), 1, n, c));
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = w.scope("block" + (i + 1), j);
                final Value in = tokens;
                final int si = i;
                tokens = g.named("block" + (i + 1) + "." + j, () -> block(b, in, si, h, wd));
            }
            if (i < 3) x = g.reshape(g.transpose(tokens, 0, 2, 1), -1, c, h, wd);
            // no backbone class upstream: each stage's output (its last block's tokens), NCHW
            final Value out = tokens;
            taps.feature(i, () -> g.reshape(g.transpose(out, 0, 2, 1), -1, c, h, wd));
        }
        int c = e[3];
        Value pooled = g.op1("ReduceMean", new Value[]{tokens}, tokens.dtype(), new long[]{tokens.dim(0), c},
                org.attnzoo.sdk.graph.Attr.ints("axes", 1), org.attnzoo.sdk.graph.Attr.i("keepdims", 0));
        taps.embedding(pooled);                             // forward_features: mean over tokens
        Scope hd = w.scope("head");
        return g.gemm(pooled, hd.param("weight", cfg.numClasses(), c), hd.param("bias", cfg.numClasses()), true);
    }

    private Value block(Scope b, Value x, int i, int h, int w) {
        Graph g = b.graph();
        int c = cfg.embedDims()[i], heads = cfg.numHeads()[i], hd = c / heads;
        long n = x.dim(1);
        Value h1 = LayerNorm.apply(b.scope("norm1"), x, c, 1e-6f);
        Scope a = b.scope("attn");
        Value q = g.transpose(g.reshape(Linear.apply(a.scope("q"), h1, c, c, cfg.qkvBias()), -1, n, heads, hd), 0, 2, 1, 3);
        Value kv = g.transpose(g.reshape(Linear.apply(a.scope("kv"), h1, c, 2L * c, cfg.qkvBias()), -1, n, 2, heads, hd), 2, 0, 3, 1, 4);
        Value[] p = g.split(kv, 0, 1, 1);
        Value mixed = InLineAttention.mix(a, h1, q, g.squeeze(p[0], 0), g.squeeze(p[1], 0), heads, h, w, 0);
        x = g.add(x, Linear.apply(a.scope("proj"), mixed, c, c, true));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, 1e-6f);
        int hidden = (int) (c * cfg.mlpRatios()[i]);
        Value m = Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), h2, c, hidden, true)), hidden, c, true);
        return g.add(x, m);
    }
}
