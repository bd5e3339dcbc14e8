package org.attnzoo.zoo.family.casvit;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CAS-ViT (Zhang et al., 2024), as the authors' {@code classification/model/rcvit.py} (RCViT): a
 * two-conv stem, four stages of additive blocks joined by stride-2 Conv-BN embeddings, then
 * BatchNorm, mean pool and the classification head, averaged with the distillation head when the
 * checkpoint has one (eval mode; see {@link #hasDistillationHead}).
 *
 * <p>An additive block is {@code x + LocalIntegration(x)} (1×1, BN, depthwise 3×3, GELU, 1×1), then
 * {@code x + AdditiveTokenMixer(BN(x))}: q, k, v from one 1×1 conv; q and k each gated by a
 * spatial operation (depthwise 3×3, BN, ReLU, 1×1 to one channel, sigmoid) and a channel
 * operation (mean pool, 1×1, sigmoid); {@code proj(dwc(q + k) · v)} with depthwise 3×3 convs;
 * then {@code x + Mlp(BN(x))}. BatchNorms before a conv (norm1, norm2) and after one fold into it;
 * the final BatchNorm and both heads fold into one Gemm.
 */
public final class CasVit extends FamilyArchitecture<CasVit.Config> {

    /**
     * The authors' RCViT arguments that the registered models vary. {@code distillation} (the
     * constructor's default, true, for every registered variant) shapes only made-up weights: with a
     * checkpoint, the presence of {@code dist_head} decides.
     */
    public record Config(int imgSize, int numClasses, int[] layers, int[] embedDims, double mlpRatio, boolean distillation)
            implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("rcvit_xs", new Config(224, 1000, new int[]{2, 2, 4, 2}, new int[]{48, 56, 112, 220}, 4, true));
        m.put("rcvit_s", new Config(224, 1000, new int[]{3, 3, 6, 3}, new int[]{48, 64, 128, 256}, 4, true));
        m.put("rcvit_m", new Config(224, 1000, new int[]{3, 3, 6, 3}, new int[]{64, 96, 192, 384}, 4, true));
        m.put("rcvit_t", new Config(224, 1000, new int[]{3, 3, 6, 3}, new int[]{96, 128, 256, 512}, 4, true));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public CasVit(String name, Config cfg, Preprocessing pre) {
        super("casvit", name, cfg, pre);
    }

    /** The authors' eval transform: resize to 256/224 of the size (bicubic), centre crop. */
    public static CasVit variant(String name) {
        Config c = lookup(VARIANTS, "CAS-ViT", name);
        return new CasVit(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }


    /**
     * The pre-logits vector (the final BatchNorm'd map mean-pooled: what head and dist_head both
     * read) and the four stage maps at strides 4, 8, 16, 32 as the authors' dense-prediction
     * backbone returns them ({@code detection/model/rcvit.py} and {@code segmentation/model/rcvit.py},
     * RCViT with {@code fork_feat=True}: the output of {@code network[0, 2, 4, 6]}, i.e. each stage
     * before the next downsampling, through its own BatchNorm2d {@code norm0/2/4/6}).
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDims(), 4);
    }

    /**
     * Any square size: convolutions only (padded stride-2 convs round odd maps up, the channel
     * operation pools globally), no position tables.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "CAS-ViT's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new CasVit(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] e = cfg.embedDims();
        Taps taps = Taps.of(g);
        Scope pe = w.scope("patch_embed");
        Value x = g.relu(convThenBn(pe.scope("0"), pe.scope("1"), image, e[0] / 2, 3, 2, 1));
        x = g.relu(convThenBn(pe.scope("3"), pe.scope("4"), x, e[0], 3, 2, 1));
        int idx = 0;
        for (int i = 0; i < e.length; i++) {
            for (int j = 0; j < cfg.layers()[i]; j++) {
                Scope b = w.scope("network." + idx, j);
                final Value in = x;
                final int dim = e[i];
                x = g.named("network." + idx + "." + j, () -> block(b, in, dim));
            }
            if (taps.wants(i)) taps.feature(i, outputNorm(w.scope("norm" + idx), x, e[i]));
            idx++;
            if (i < e.length - 1) {
                Scope emb = w.scope("network", idx);
                x = convThenBn(emb.scope("proj"), emb.scope("norm"), x, e[i + 1], 3, 2, 1);
                idx++;
            }
        }
        return head(w, x, e[e.length - 1]);
    }

    /**
     * The fork_feat model's per-output BatchNorm2d {@code norm<idx>} (eval mode) on a stage map.
     * A detection/segmentation checkpoint holds it; a classification one does not, and then it is
     * the BatchNorm as PyTorch initialises it (weight 1, bias 0, running mean 0, running variance 1,
     * so {@code x / sqrt(1 + 1e-5)}), which is what the authors' backbone holds on ImageNet weights
     * before dense training (loaded with strict=False).
     */
    private static Value outputNorm(Scope bn, Value x, int c) {
        double[][] a;
        if (bn.has("weight")) {
            a = BatchNorm.affine(bn, c, BatchNorm.DEFAULT_EPS);
        } else {
            a = new double[][]{new double[c], new double[c]};
            java.util.Arrays.fill(a[0], 1 / Math.sqrt(1 + BatchNorm.DEFAULT_EPS));
        }
        float[] scale = new float[c], shift = new float[c];
        for (int i = 0; i < c; i++) {
            scale[i] = (float) a[0][i];
            shift[i] = (float) a[1][i];
        }
        Graph g = bn.graph();
        String how = bn.has("weight") ? "" : " (not in a classification checkpoint: PyTorch's initial BatchNorm2d)";
        return g.add(g.mul(x, bn.derived("eval_scale", "BatchNorm2d as a per-channel scale" + how, scale, 1, c, 1, 1)),
                bn.derived("eval_shift", "BatchNorm2d as a per-channel shift" + how, shift, 1, c, 1, 1));
    }

    /** A conv with bias followed by a BatchNorm, as one conv (padding {@code k/2}). */
    static Value convThenBn(Scope conv, Scope bn, Value x, int out, int k, int stride, int groups) {
        return BatchNorm.convFolded(conv, bn, x, out, k, stride, groups, true, BatchNorm.DEFAULT_EPS);
    }

    /** {@code conv1x1(BN(x))} as one 1×1 conv (the BatchNorm before the conv folded into it). */
    static Value bnThenConv(Scope bn, Scope conv, Value x, int out, boolean bias) {
        int in = Math.toIntExact(x.dim(1));
        BatchNorm.Folded f = BatchNorm.foldBefore(conv.floats("weight", out, in, 1, 1), bias ? conv.floats("bias", out) : null,
                BatchNorm.affine(bn, in, BatchNorm.DEFAULT_EPS));
        float[] fw = f.weight(), fb = f.bias();
        int[] one = {1, 1};
        return conv.graph().conv2d(x, conv.derived("weight_folded", "preceding BatchNorm folded in", fw, out, in, 1, 1),
                conv.derived("bias_folded", null, fb, out), one, new int[]{0, 0, 0, 0}, one, 1);
    }

    static Value conv(Scope s, Value x, int out, int k, int groups, boolean bias) {
        int in = Math.toIntExact(x.dim(1)), p = k / 2;
        int[] one = {1, 1};
        return s.graph().conv2d(x, s.param("weight", out, in / groups, k, k), bias ? s.param("bias", out) : null, one,
                new int[]{p, p, p, p}, one, groups);
    }

    private Value block(Scope b, Value x, int dim) {
        Graph g = b.graph();
        // local integration: 1x1 -> BN -> dw3x3 -> GELU -> 1x1
        Scope li = b.scope("local_perception.network");
        Value l = convThenBn(li.scope("0"), li.scope("1"), x, dim, 1, 1, 1);
        l = g.gelu(conv(li.scope("2"), l, dim, 3, dim, true));
        x = g.add(x, conv(li.scope("4"), l, dim, 1, 1, true));
        // additive token mixer on BN(x)
        Scope at = b.scope("attn");
        Value qkv = bnThenConv(b.scope("norm1"), at.scope("qkv"), x, 3 * dim, false);
        Value[] p = g.split(qkv, 1, dim, dim, dim);
        Value q = channelOp(at.scope("oper_q.1"), spatialOp(at.scope("oper_q.0"), p[0], dim), dim);
        Value k = channelOp(at.scope("oper_k.1"), spatialOp(at.scope("oper_k.0"), p[1], dim), dim);
        Value mix = g.mul(conv(at.scope("dwc"), g.add(q, k), dim, 3, dim, true), p[2]);
        x = g.add(x, conv(at.scope("proj"), mix, dim, 3, dim, true));
        // mlp on BN(x)
        int hidden = (int) (dim * cfg.mlpRatio());
        Value m = g.gelu(bnThenConv(b.scope("norm2"), b.scope("mlp.fc1"), x, hidden, true));
        return g.add(x, conv(b.scope("mlp.fc2"), m, dim, 1, 1, true));
    }

    /** SpatialOperation: {@code x · sigmoid(conv1x1→1(ReLU(BN(dw3x3(x)))))}. */
    private static Value spatialOp(Scope s, Value x, int dim) {
        Graph g = s.graph();
        Value a = g.relu(convThenBn(s.scope("block.0"), s.scope("block.1"), x, dim, 3, 1, dim));
        return g.mul(x, g.sigmoid(conv(s.scope("block.3"), a, 1, 1, 1, false)));
    }

    /** ChannelOperation: {@code x · sigmoid(conv1x1(mean(x)))}. */
    private static Value channelOp(Scope s, Value x, int dim) {
        Graph g = s.graph();
        return g.mul(x, g.sigmoid(conv(s.scope("block.1"), g.globalAvgPool(x), dim, 1, 1, false)));
    }

    /**
     * Whether the model has {@code dist_head}: a checkpoint decides by holding it or not (the
     * authors' main.py builds with {@code distillation=False}, so checkpoints it trains have
     * {@code head} alone; those trained with the constructor's default carry both heads); made-up
     * weights follow {@link Config#distillation()}.
     */
    private boolean hasDistillationHead(Scope w) {
        if (w.weights().isSynthetic()) return cfg.distillation();
        return w.has("dist_head.weight") || w.has("dist_head.bias");
    }

    /** Final BatchNorm, mean pool, head (and dist_head, averaged) as one Gemm. */
    private Value head(Scope w, Value x, int c) {
        Graph g = w.graph();
        int k = cfg.numClasses();
        double[][] a = BatchNorm.affine(w.scope("norm"), c, BatchNorm.DEFAULT_EPS);
        String[] heads = hasDistillationHead(w) ? new String[]{"head", "dist_head"} : new String[]{"head"};
        double[] wf = new double[k * c], bf = new double[k];
        for (String hn : heads) {
            float[] lw = w.scope(hn).floats("weight", k, c), lb = w.scope(hn).floats("bias", k);
            for (int r = 0; r < k; r++) {
                double acc = lb[r];
                for (int j = 0; j < c; j++) {
                    wf[r * c + j] += lw[r * c + j] * a[0][j] / heads.length;
                    acc += lw[r * c + j] * a[1][j];
                }
                bf[r] += acc / heads.length;
            }
        }
        float[] wt = new float[k * c], bt = new float[k];
        for (int i = 0; i < wt.length; i++) wt[i] = (float) wf[i];
        for (int r = 0; r < k; r++) bt[r] = (float) bf[r];
        Value p = g.reshape(g.globalAvgPool(x), -1, c);
        float[] scale = new float[c], shift = new float[c];
        for (int i = 0; i < c; i++) {
            scale[i] = (float) a[0][i];
            shift[i] = (float) a[1][i];
        }
        Scope n = w.scope("norm");   // the embedding: BN(x) pooled = BN's per-channel affine of the pooled map
        Taps.of(g).embedding(g.add(g.mul(p, n.derived("eval_scale", "BatchNorm as a per-channel scale (embedding only)", scale, c)),
                n.derived("eval_shift", "BatchNorm as a per-channel shift (embedding only)", shift, c)));
        Scope h = w.scope("head");
        String doc = "final BatchNorm folded in" + (heads.length > 1 ? "; head and dist_head averaged" : "");
        return g.gemm(p, h.derived("weight_folded", doc, wt, k, c), h.derived("bias_folded", null, bt, k), true);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.embedDims());
    }
}
