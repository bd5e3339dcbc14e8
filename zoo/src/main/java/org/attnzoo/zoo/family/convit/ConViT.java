package org.attnzoo.zoo.family.convit;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Mlp;
import org.attnzoo.sdk.nn.PatchEmbed;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ConViT (d'Ascoli et al., ICML 2021): a ViT whose first {@code localUpToLayer} blocks use gated
 * positional self-attention (GPSA); the class token joins before the first plain MHSA block.
 * Weight names follow timm's {@code convit.py}, which equal the authors' (facebookresearch/convit).
 *
 * <p>Build-time folding, exact up to float rounding:
 * <ul>
 *   <li>GPSA's positional scores depend only on weights: {@code softmax(pos_proj(rel))} and the gate
 *       {@code sigmoid(gating_param)} become per-layer constants;</li>
 *   <li>the {@code head_dim^-0.5} scale is folded into the query weights, and q/k/v into one MatMul;</li>
 *   <li>upstream divides the mixed attention by its row sums, which are
 *       {@code (1-σ)·1 + σ·1 = 1} (both terms are softmax rows), so that division is left out.</li>
 * </ul>
 */
public final class ConViT extends FamilyArchitecture<ConViT.Config> {

    /** timm's ConVit constructor arguments (embed_dim already multiplied by num_heads). */
    public record Config(int imgSize, int patchSize, int inChans, int numClasses, int embedDim, int depth, int numHeads,
                         double mlpRatio, boolean qkvBias, int localUpToLayer, boolean usePosEmbed, String globalPool) implements ImageConfig {
        public int tokens() {
            int g = imgSize / patchSize;
            return g * g;
        }
    }

    private static Config base(int headsTimes48, int heads) {
        return new Config(224, 16, 3, 1000, headsTimes48, 12, heads, 4.0, false, 10, true, "token");
    }

    /** The small ConViT shipped with AttnZoo, trained on 32×32 upsampled scikit-learn digits. */
    public static final String DIGITS = "convit_digits";

    /** The named variants (timm registers these with embed_dim=48 × num_heads). */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("convit_tiny", base(48 * 4, 4));
        m.put("convit_small", base(48 * 9, 9));
        m.put("convit_base", base(48 * 16, 16));
        // AttnZoo's offline demo: trained on scikit-learn's digits by tools/train/convit_digits.py
        m.put(DIGITS, new Config(32, 4, 3, 10, 16 * 4, 4, 4, 2.0, false, 3, true, "token"));
        VARIANTS = java.util.Collections.unmodifiableMap(m);
    }

    public ConViT(String name, Config cfg, Preprocessing pre) {
        super("convit", name, cfg, pre);
    }

    public static ConViT variant(String name) {
        Config c = lookup(VARIANTS, "ConViT", name);
        return new ConViT(name, c, name.equals(DIGITS) ? digitsPreprocessing() : Preprocessing.imagenet(224, 0.875, "bicubic"));
    }

    /** The training run's normalization (grey digits replicated to 3 channels), read from its config. */
    static Preprocessing digitsPreprocessing() {
        try (var in = ConViT.class.getResourceAsStream("/org/attnzoo/zoo/models/convit_digits/config.json")) {
            if (in == null) throw new IllegalStateException("convit_digits config.json missing from the jar");
            var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
            double[] mean = new double[3], std = new double[3];
            for (int i = 0; i < 3; i++) {
                mean[i] = node.get("mean").get(i).asDouble();
                std[i] = node.get("std").get(i).asDouble();
            }
            return new Preprocessing(new int[]{3, 32, 32}, mean, std, 1.0, "bilinear");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Isotropic: the pooled token (timm's pre-logits), no feature pyramid. */
    @Override
    public org.attnzoo.zoo.arch.Backbone backbone() {
        return org.attnzoo.zoo.arch.Backbone.embeddingOnly(cfg.embedDim());
    }

    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        throw fixedSize(height, width, "its absolute position table is learned for the card's patch grid, and the upstream model does not resample it");
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        long c = cfg.embedDim();
        int n = cfg.tokens();
        Value x = PatchEmbed.apply(w.scope("patch_embed"), image, cfg.patchSize(), cfg.inChans(), c);
        if (cfg.usePosEmbed()) {
            x = g.add(x, w.param("pos_embed", 1, n, c));
        }
        Value cls = w.param("cls_token", 1, 1, c);
        long hidden = (long) (c * cfg.mlpRatio());
        for (int i = 0; i < cfg.depth(); i++) {
            if (i == cfg.localUpToLayer()) {
                x = g.concat(1, g.expandBatch(cls, x), x);
            }
            Scope b = w.scope("blocks", i);
            final Value in = x;
            final int layer = i;
            x = g.named("blocks." + i, () -> {
                Value h = LayerNorm.apply(b.scope("norm1"), in, c, 1e-6f);
                Value a = layer < cfg.localUpToLayer()
                        ? gpsa(b.scope("attn"), h)
                        : Attention.mhsa(b.scope("attn"), h, c, cfg.numHeads(), cfg.qkvBias());
                Value y = g.add(in, a);
                Value m = Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), y, c, 1e-6f), c, hidden, c);
                return g.add(y, m);
            });
        }
        x = LayerNorm.apply(w.scope("norm"), x, c, 1e-6f);
        Value pooled = switch (cfg.globalPool()) {
            case "token" -> g.select(x, 1, 0);
            case "avg" -> g.reduceMean(g.slice(x, 1, 1, Long.MAX_VALUE), false, 1);
            default -> throw new IllegalArgumentException("global_pool '" + cfg.globalPool() + "' gives no logits");
        };
        org.attnzoo.zoo.arch.Taps.of(g).embedding(pooled);     // timm forward_head(pre_logits=True)
        return Linear.apply(w.scope("head"), pooled, c, cfg.numClasses(), true);
    }

    /** Gated positional self-attention on patch tokens {@code [B, N, C]}. */
    private Value gpsa(Scope s, Value x) {
        Graph g = s.graph();
        int c = cfg.embedDim(), heads = cfg.numHeads(), n = cfg.tokens();
        float scale = (float) Math.pow((double) (c / heads), -0.5);

        float[] qk = s.scope("qk").floats("weight", 2L * c, c);
        float[] v = s.scope("v").floats("weight", c, c);
        float[][] biases = null;
        if (cfg.qkvBias()) {
            float[] qkb = s.scope("qk").floats("bias", 2L * c);
            biases = new float[][]{Arrays.copyOfRange(qkb, 0, c), Arrays.copyOfRange(qkb, c, 2 * c), s.scope("v").floats("bias", c)};
        }
        float[][] ws = {Arrays.copyOfRange(qk, 0, c * c), Arrays.copyOfRange(qk, c * c, 2 * c * c), v};
        Value qkv = Linear.apply(s, x, ws, biases, c, new long[]{c, c, c}, new float[]{scale, 1f, 1f},
                "qk+v.weight", "qk+v.bias");
        Attention.Heads h = Attention.splitHeads(g, qkv, c, heads);
        Value content = g.softmax(g.matMul(h.q(), h.kT()), -1);

        // Positional attention and gate: functions of the weights alone, folded to constants.
        float[] posW = s.scope("pos_proj").floats("weight", heads, 3);
        float[] posB = s.scope("pos_proj").floats("bias", heads);
        float[] gating = s.floats("gating_param", heads);
        float[] keep = new float[heads];
        float[] pos = positionalAttention(posW, posB, gating, keep, n, heads);
        Value mixed = g.add(g.mul(content, g.constant("content_gate", keep, 1, heads, 1, 1)),
                g.constant("gated_pos_attn", pos, 1, heads, n, n));
        Value out = Attention.mergeHeads(g, g.matMul(mixed, h.v()));
        return Linear.apply(s.scope("proj"), out, c, c, true);
    }

    /**
     * {@code sigmoid(g_h) · softmax_k(pos_proj(rel[q, k]))} for every head, in double precision;
     * {@code keep[h] = 1 - sigmoid(g_h)}. {@code rel[q, k] = (dx, dy, dx² + dy²)} with
     * {@code dx = col(k) - col(q)}, {@code dy = row(k) - row(q)} on the square token grid.
     */
    static float[] positionalAttention(float[] posW, float[] posB, float[] gating, float[] keep, int n, int heads) {
        int side = (int) Math.round(Math.sqrt(n));
        if (side * side != n) throw new IllegalArgumentException("GPSA needs a square token grid, got " + n + " tokens");
        float[] out = new float[heads * n * n];
        double[] row = new double[n];
        for (int hh = 0; hh < heads; hh++) {
            double sig = 1.0 / (1.0 + Math.exp(-(double) gating[hh]));
            keep[hh] = (float) (1.0 - sig);
            double w0 = posW[hh * 3], w1 = posW[hh * 3 + 1], w2 = posW[hh * 3 + 2], b = posB[hh];
            for (int q = 0; q < n; q++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    double dx = (k % side) - (q % side), dy = (k / side) - (q / side);
                    row[k] = w0 * dx + w1 * dy + w2 * (dx * dx + dy * dy) + b;
                    max = Math.max(max, row[k]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    row[k] = Math.exp(row[k] - max);
                    sum += row[k];
                }
                int base = (hh * n + q) * n;
                for (int k = 0; k < n; k++) out[base + k] = (float) (sig * row[k] / sum);
            }
        }
        return out;
    }
}
