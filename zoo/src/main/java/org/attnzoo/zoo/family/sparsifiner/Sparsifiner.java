package org.attnzoo.zoo.family.sparsifiner;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sparsifiner (Wei et al., CVPR 2023), as the authors' {@code src/models/sparsifiner.py} in eval
 * mode with the configuration their README trains ({@code sparsifiner_default_config.yaml}): a
 * DeiT whose every attention keeps, per query row except the class token's, only the
 * {@code ceil(keep · N)} key columns a low-rank mask predictor scores highest.
 *
 * <p>The mask predictor, per head: queries and keys projected to {@code head_dim / reduce_c}
 * channels ({@code proj_c_q}, {@code proj_c_k}), the keys' tokens mixed down to
 * {@code N / reduce_n} by {@code proj_n}; {@code softmax(q·k · num_heads^-0.5)} over those (the
 * upstream scale is the number of heads, not the head dim) gives basis coefficients, of which the
 * top {@code BASIS_COEF.TOPK} per row are kept (ONNX TopK + ScatterElements); times the basis
 * {@code Threshold(|proj_back_n|ᵀ)} (a build-time constant: entries at or below
 * {@code BASIS_THRESHOLD} are 0) they are the approximate attention, whose top
 * {@code ceil(keep · N)} columns per row stay; the others get {@code -inf} before the softmax of the
 * ordinary attention. The class-token row attends to every token.
 *
 * <p><b>Ties.</b> Both top-k selections pick exactly k entries. Among equal values ONNX TopK keeps
 * the lowest indices; PyTorch's CPU top-k picks by its selection algorithm (no index rule), and
 * CUDA's by another. Exactly equal approximate scores are not rare: with the basis thresholded,
 * a row whose kept coefficients select basis rows that are 0 in many columns has fewer than
 * {@code ceil(keep · N)} nonzero scores, and the remaining picks fall among its zero columns —
 * different tokens, so the two implementations attend to different keys and their outputs differ.
 * Without a tie at the k-th value (the parity fixtures are checked to have none) the selections and
 * outputs agree.
 *
 * <p>Token pruning ({@code TOKEN_PRUNING_LOC}, empty in the authors' default configuration) is not
 * built. Per-sample top-k: nothing depends on other images of the batch.
 */
public final class Sparsifiner extends FamilyArchitecture<Sparsifiner.Config> {

    /**
     * The constructor arguments and config fields the model reads: {@code attnKeepRates} per block
     * ({@code ATTN_KEEP_RATE} or {@code ATTN_KEEP_RATE_LIST}), {@code REDUCE_N_FACTOR},
     * {@code REDUCE_C_FACTOR}, {@code SHARE_INOUT_PROJ}, {@code BASIS_THRESHOLD},
     * {@code BASIS_COEF.TOPK} (with {@code BASIS_COEF.USE_TOPK} and {@code ATTN_SCORE.USE_TOPK} true).
     */
    public record Config(int imgSize, int numClasses, int patchSize, int embedDim, int depth, int numHeads, double mlpRatio,
                         boolean qkvBias, double[] attnKeepRates, int reduceNFactor, int reduceCFactor, boolean shareInoutProj,
                         double basisThreshold, int basisCoefTopk) implements ImageConfig {
        public Config {
            if (attnKeepRates.length != depth) {
                throw new IllegalArgumentException("attnKeepRates has " + attnKeepRates.length + " entries for " + depth + " blocks");
            }
            if (embedDim % numHeads != 0) throw new IllegalArgumentException("embedDim " + embedDim + " not divisible by numHeads " + numHeads);
        }

        @Override
        public int inChans() {
            return 3;
        }

        int tokens() {
            int g = imgSize / patchSize;
            return g * g + 1;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        // src/main.py's `sparsifiner` (DeiT-S) with experiments/sparsifiner_default_config.yaml
        double[] keep = new double[12];
        Arrays.fill(keep, 0.25);
        m.put("sparsifiner", new Config(224, 1000, 16, 384, 12, 6, 4, true, keep, 6, 2, false, 2e-2, 8));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public Sparsifiner(String name, Config cfg, Preprocessing pre) {
        super("sparsifiner", name, cfg, pre);
    }

    /** The authors' eval transform (datasets.py): resize to 256/224 of the size (bicubic), centre crop, ImageNet mean/std. */
    public static Sparsifiner variant(String name) {
        Config c = lookup(VARIANTS, "Sparsifiner", name);
        return new Sparsifiner(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    @Override
    public void declareIgnorable(Weights w) {
        // a shared projection is one Parameter under two state-dict names; proj_n is read
        if (cfg.shareInoutProj()) w.ignoreUnused(k -> k.endsWith(".mask_predictor.proj_back_n"));
    }

    /** Isotropic: the normed class token the head reads; no feature pyramid. */
    @Override
    public org.attnzoo.zoo.arch.Backbone backbone() {
        return org.attnzoo.zoo.arch.Backbone.embeddingOnly(cfg.embedDim());
    }

    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        throw fixedSize(height, width, "its absolute position table and its mask predictors' token count are fixed by the card's patch grid");
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim(), p = cfg.patchSize();
        Scope pe = w.scope("patch_embed.proj");
        Value x = g.conv2d(image, pe.param("weight", c, 3, p, p), pe.param("bias", c), new int[]{p, p}, new int[]{0, 0, 0, 0},
                new int[]{1, 1}, 1);
        int gh = Math.toIntExact(x.dim(2)), gw = Math.toIntExact(x.dim(3)), n = gh * gw + 1;
        if (n != cfg.tokens()) throw new IllegalStateException("token count " + n + " != " + cfg.tokens());
        Value tokens = g.transpose(g.reshape(x, -1, c, (long) gh * gw), 0, 2, 1);
        Value cls = g.expandBatch(w.param("cls_token", 1, 1, c), tokens);
        tokens = g.add(g.concat(1, cls, tokens), w.param("pos_embed", 1, n, c));
        for (int i = 0; i < cfg.depth(); i++) {
            Scope b = w.scope("blocks", i);
            final Value in = tokens;
            final double keep = cfg.attnKeepRates()[i];
            tokens = g.named("blocks." + i, () -> block(b, in, n, keep));
        }
        tokens = LayerNorm.apply(w.scope("norm"), tokens, c, 1e-6f);
        Value clsOut = g.reshape(g.split(tokens, 1, 1, n - 1)[0], -1, c);
        org.attnzoo.zoo.arch.Taps.of(g).embedding(clsOut);   // what head reads: the normed class token
        Scope h = w.scope("head");
        return g.gemm(clsOut, h.param("weight", cfg.numClasses(), c), h.param("bias", cfg.numClasses()), true);
    }

    private Value block(Scope b, Value x, int n, double keep) {
        Graph g = b.graph();
        int c = cfg.embedDim();
        x = g.add(x, attention(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), x, c, 1e-6f), n, keep));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, 1e-6f);
        int hidden = (int) (c * cfg.mlpRatio());
        Value m = Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), h2, c, hidden, true)), hidden, c, true);
        return g.add(x, m);
    }

    private Value attention(Scope a, Value x, int n, double keep) {
        Graph g = a.graph();
        int c = cfg.embedDim(), heads = cfg.numHeads(), hd = c / heads;
        Value qkv = Linear.apply(a.scope("qkv"), x, c, 3L * c, cfg.qkvBias());
        Attention.Heads h = Attention.splitHeads(g, qkv, c, heads);                        // q [B,H,N,d], kT [B,H,d,N], v
        Value k = g.transpose(h.kT(), 0, 1, 3, 2);
        Value rowMask = maskPredictor(a.scope("mask_predictor"), h.q(), k, n, keep);       // [B,H,N-1,N], 0 or -inf
        Value logits = g.mul(g.matMul(h.q(), h.kT()), (float) Math.pow(hd, -0.5));
        Value[] rows = g.split(logits, 2, 1, n - 1);
        Value attn = g.softmax(g.concat(2, rows[0], g.add(rows[1], rowMask)), -1);
        return Linear.apply(a.scope("proj"), Attention.mergeHeads(g, g.matMul(attn, h.v())), c, c, true);
    }

    /**
     * The connectivity of the non-class query rows as an additive mask {@code [B, H, N-1, N]}: 0 on
     * the kept columns, {@code -inf} elsewhere.
     */
    private Value maskPredictor(Scope s, Value q, Value k, int n, double keep) {
        Graph g = s.graph();
        int heads = cfg.numHeads(), hd = cfg.embedDim() / heads, rc = hd / cfg.reduceCFactor(), rn = n / cfg.reduceNFactor();
        int topk = cfg.basisCoefTopk(), budget = (int) Math.ceil(keep * n);
        if (rc < 1 || rn < 1) throw new IllegalArgumentException(s.prefix() + ": reduced sizes " + rc + " x " + rn + " must be positive");
        if (topk > rn) throw new IllegalArgumentException(s.prefix() + ": BASIS_COEF.TOPK " + topk + " exceeds the " + rn + " basis rows");
        if (budget > n) throw new IllegalArgumentException(s.prefix() + ": keep rate " + keep + " selects " + budget + " of " + n + " tokens");
        Value qRows = g.slice(q, 2, 1, n);                                                   // the class row is not predicted
        Value qq = Linear.apply(s.scope("proj_c_q"), qRows, hd, rc, true);                   // [B,H,N-1,c]
        Value kk = Linear.apply(s.scope("proj_c_k"), k, hd, rc, true);                       // [B,H,N,c]
        Value kMixed = g.matMul(g.transpose(kk, 0, 1, 3, 2), s.param("proj_n", n, rn));     // [B,H,c,K]
        Value coef = g.softmax(g.mul(g.matMul(qq, kMixed), (float) Math.pow(heads, -0.5)), -1);   // [B,H,N-1,K]
        coef = keepTopK(g, coef, topk, g.mul(coef, 0f), null);
        // basis: Threshold(|proj_back_n|^T): x if x > threshold else 0
        float[] back = s.floats(cfg.shareInoutProj() ? "proj_n" : "proj_back_n", n, rn);
        float[] basis = new float[rn * n];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rn; r++) {
                float v = Math.abs(back[t * rn + r]);
                basis[r * n + t] = v > cfg.basisThreshold() ? v : 0f;
            }
        }
        Value approx = g.matMul(coef, s.derived("basis", "Threshold(|proj_back_n|^T, BASIS_THRESHOLD)", basis, rn, n));
        if (budget == n) return g.mul(approx, 0f);
        // -inf everywhere, 0 scattered onto the kept columns
        return keepTopK(g, approx, budget, g.add(g.mul(approx, 0f), Float.NEGATIVE_INFINITY), 0f);
    }

    /**
     * Scatters, along the last axis, the top {@code k} entries of {@code x} (their values, or
     * {@code fill} when given) into {@code base}.
     */
    private static Value keepTopK(Graph g, Value x, int k, Value base, Float fill) {
        long[] s = x.shape(), ks = s.clone();
        ks[ks.length - 1] = k;
        Value[] top = g.op("TopK", "", new Value[]{x, g.ints(k)}, new DType[]{x.dtype(), DType.I64}, new long[][]{ks, ks},
                Attr.i("axis", -1), Attr.i("largest", 1), Attr.i("sorted", 0));
        Value updates = fill == null ? top[0] : g.add(g.mul(top[0], 0f), fill);
        return g.op1("ScatterElements", new Value[]{base, top[1], updates}, x.dtype(), base.shape(), Attr.i("axis", -1));
    }

    @Override
    public String toString() {
        return name + " " + cfg.embedDim() + "x" + cfg.depth();
    }
}
