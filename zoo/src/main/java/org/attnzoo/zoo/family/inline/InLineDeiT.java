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
 * InLine-DeiT, as the authors' {@code models/inline_deit.py}: a DeiT (patch embedding, class token,
 * position embedding, pre-norm blocks, LayerNorm, class-token head) whose attention is
 * {@link InLineAttention} over all tokens, its local residual on the patch tokens only.
 */
public final class InLineDeiT extends FamilyArchitecture<InLineDeiT.Config> {

    public record Config(int imgSize, int numClasses, int patchSize, int embedDim, int depth, int numHeads, double mlpRatio)
            implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        // the authors' configs (cfgs/inline_deit_*.yaml): tiny at 224, small at 288, base at 448
        m.put("inline_deit_tiny", new Config(224, 1000, 16, 192, 12, 6, 4));
        m.put("inline_deit_small", new Config(288, 1000, 16, 320, 12, 10, 4));
        m.put("inline_deit_base", new Config(448, 1000, 16, 384, 12, 12, 4));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public InLineDeiT(String name, Config cfg, Preprocessing pre) {
        super("inline", name, cfg, pre);
    }

    /** The authors' (Swin codebase) eval transform: resize to 256/224 of the size, centre crop, bicubic. */
    public static InLineDeiT variant(String name) {
        Config c = lookup(VARIANTS, "InLine-DeiT", name);
        return new InLineDeiT(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    /** Isotropic: the pre-logits vector (the normed class token) only, no feature pyramid. */
    @Override
    public Backbone backbone() {
        return Backbone.embeddingOnly(cfg.embedDim());
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim(), p = cfg.patchSize();
        Scope pe = w.scope("patch_embed.proj");
        Value x = g.conv2d(image, pe.param("weight", c, 3, p, p), pe.param("bias", c), new int[]{p, p}, new int[]{0, 0, 0, 0},
                new int[]{1, 1}, 1);
        int gh = Math.toIntExact(x.dim(2)), gw = Math.toIntExact(x.dim(3)), n = gh * gw + 1;
        Value tokens = g.transpose(g.reshape(x, -1, c, (long) gh * gw), 0, 2, 1);
        Value cls = g.expandBatch(w.param("cls_token", 1, 1, c), tokens);
        tokens = g.add(g.concat(1, cls, tokens), w.param("pos_embed", 1, n, c));
        for (int i = 0; i < cfg.depth(); i++) {
            Scope b = w.scope("blocks", i);
            final Value in = tokens;
            tokens = g.named("blocks." + i, () -> block(b, in, gh, gw));
        }
        tokens = LayerNorm.apply(w.scope("norm"), tokens, c, 1e-6f);
        Value clsOut = g.reshape(g.split(tokens, 1, 1, n - 1)[0], -1, c);
        Taps.of(g).embedding(clsOut);                       // forward_features: the normed class token
        Scope h = w.scope("head");
        return g.gemm(clsOut, h.param("weight", cfg.numClasses(), c), h.param("bias", cfg.numClasses()), true);
    }

    private Value block(Scope b, Value x, int gh, int gw) {
        Graph g = b.graph();
        int c = cfg.embedDim(), heads = cfg.numHeads(), hd = c / heads;
        long n = x.dim(1);
        Value h1 = LayerNorm.apply(b.scope("norm1"), x, c, 1e-6f);
        Scope a = b.scope("attn");
        Value qkv = g.transpose(g.reshape(Linear.apply(a.scope("qkv"), h1, c, 3L * c, true), -1, n, 3, heads, hd), 2, 0, 3, 1, 4);
        Value[] p = g.split(qkv, 0, 1, 1, 1);
        Value mixed = InLineAttention.mix(a, h1, g.squeeze(p[0], 0), g.squeeze(p[1], 0), g.squeeze(p[2], 0), heads, gh, gw, 1);
        x = g.add(x, Linear.apply(a.scope("proj"), mixed, c, c, true));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, 1e-6f);
        int hidden = (int) (c * cfg.mlpRatio());
        Value m = Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), h2, c, hidden, true)), hidden, c, true);
        return g.add(x, m);
    }
}
