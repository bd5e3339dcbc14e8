package org.attnzoo.zoo.family.crossvit;

import org.attnzoo.sdk.nn.SingleQueryAttention;
import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.ShapeException;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Mlp;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CrossViT (Chen, Fan and Panda, ICCV 2021): two ViT branches at different patch sizes (the second
 * fed a bicubically resized copy of the image) that exchange information through their class
 * tokens: each branch's CLS, projected to the other branch's width, attends over the other branch's
 * patch tokens and is projected back. Weight names follow timm's {@code crossvit.py}
 * ({@code pos_embed_0}, {@code blocks.m.fusion.i...}); the authors' checkpoints name the position
 * tables {@code pos_embed.0} / {@code cls_token.0}, which {@link #adapt} renames as timm does.
 *
 * <p>Inference-time rewrites, exact up to float rounding:
 * <ul>
 *   <li>the resize ({@code F.interpolate(mode='bicubic', align_corners=False)}) is two MatMuls
 *       with constant interpolation matrices, the same values as ONNX Resize (cubic, a = -0.75,
 *       half_pixel), which ONNX Runtime runs far slower;</li>
 *   <li>cross-attention has one query (the CLS token), so the key projection is folded into the
 *       query ({@code q·(W_k x + b_k) = (W_kᵀq)·x + const}, the constant cancels in the softmax) and
 *       the value projection is applied after the weighted sum ({@code Σ a_n (W_v x_n + b_v) =
 *       W_v Σ a_n x_n + b_v}, the weights sum to 1): no key/value tensors over all tokens;</li>
 *   <li>patch-embedding bias and position table are one constant; the CLS token and its position
 *       row are one constant;</li>
 *   <li>with token pooling only the CLS rows are normalised; the two heads' mean is one MatMul
 *       over the concatenated CLS features.</li>
 * </ul>
 */
public final class CrossViT extends FamilyArchitecture<CrossViT.Config> {

    /**
     * timm's CrossVit constructor arguments. {@code scaledSizes[i]} is the image side branch i sees
     * ({@code int(img_size * img_scale[i])}); {@code depths[m] = {branch0, branch1, ..., fusion}};
     * {@code mlpRatios} per branch (the last entry, upstream's cross-attention ratio, is unused).
     */
    public record Config(int imgSize, int[] scaledSizes, int[] patchSizes, int inChans, int numClasses, int[] embedDims,
                         int[][] depths, int[] numHeads, double[] mlpRatios, boolean multiConv, boolean cropScale,
                         boolean qkvBias, String globalPool) implements ImageConfig {
        public int branches() {
            return patchSizes.length;
        }

        /** Upstream's {@code _compute_num_patches}: {@code s // p * s // p}, evaluated left to right. */
        public int patches(int i) {
            int s = scaledSizes[i], p = patchSizes[i];
            return s / p * s / p;
        }

        /** The parameter count, from the configuration alone (equals timm's for every variant). */
        public long parameterCount() {
            long n = 0;
            int nb = branches();
            for (int i = 0; i < nb; i++) {
                long c = embedDims[i];
                n += (1 + patches(i)) * c + c; // pos_embed_i, cls_token_i
                if (multiConv) {
                    long c4 = c / 4, c2 = c / 2;
                    n += c4 * inChans * 49 + c4 + c2 * c4 * 9 + c2 + c * c2 * 9 + c;
                } else {
                    n += c * inChans * (long) patchSizes[i] * patchSizes[i] + c;
                }
                n += 2 * c + c * numClasses + numClasses; // norm_i, head_i
            }
            for (int[] d : depths) {
                for (int i = 0; i < nb; i++) {
                    long c = embedDims[i], h = (long) (c * mlpRatios[i]);
                    n += d[i] * (4 * c + 3 * c * c + (qkvBias ? 3 * c : 0) + c * c + c + c * h + h + h * c + c);
                }
                int fusions = Math.max(1, d[nb]);
                for (int i = 0; i < nb; i++) {
                    long c = embedDims[i], o = embedDims[(i + 1) % nb];
                    n += 2 * c + c * o + o; // projs.i
                    n += fusions * (2 * o + 3 * o * o + (qkvBias ? 3 * o : 0) + o * o + o); // fusion.i
                    n += 2 * o + o * c + c; // revert_projs.i
                }
            }
            return n;
        }
    }

    private static Config cfg(int img, int scaled, int[] dims, int depth, int heads, double mlp, boolean dagger) {
        int[][] depths = new int[3][];
        for (int m = 0; m < 3; m++) depths[m] = new int[]{1, depth, 0};
        return new Config(img, new int[]{img, scaled}, new int[]{12, 16}, 3, 1000, dims, depths, new int[]{heads, heads},
                new double[]{mlp, mlp, 1.0}, dagger, false, true, "token");
    }

    /** Every CrossViT variant timm registers (names give the model's real input side). */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("crossvit_tiny_240", cfg(240, 224, new int[]{96, 192}, 4, 3, 4, false));
        m.put("crossvit_small_240", cfg(240, 224, new int[]{192, 384}, 4, 6, 4, false));
        m.put("crossvit_base_240", cfg(240, 224, new int[]{384, 768}, 4, 12, 4, false));
        m.put("crossvit_9_240", cfg(240, 224, new int[]{128, 256}, 3, 4, 3, false));
        m.put("crossvit_15_240", cfg(240, 224, new int[]{192, 384}, 5, 6, 3, false));
        m.put("crossvit_18_240", cfg(240, 224, new int[]{224, 448}, 6, 7, 3, false));
        m.put("crossvit_9_dagger_240", cfg(240, 224, new int[]{128, 256}, 3, 4, 3, true));
        m.put("crossvit_15_dagger_240", cfg(240, 224, new int[]{192, 384}, 5, 6, 3, true));
        m.put("crossvit_15_dagger_408", cfg(408, 384, new int[]{192, 384}, 5, 6, 3, true));
        m.put("crossvit_18_dagger_240", cfg(240, 224, new int[]{224, 448}, 6, 7, 3, true));
        m.put("crossvit_18_dagger_408", cfg(408, 384, new int[]{224, 448}, 6, 7, 3, true));
        VARIANTS = java.util.Collections.unmodifiableMap(m);
    }

    private static final float EPS = 1e-6f;

    public CrossViT(String name, Config cfg, Preprocessing pre) {
        super("crossvit", name, cfg, pre);
    }

    /** A named variant with timm's pretrained preprocessing (bicubic; crop 0.875 at 240, 1.0 at 408). */
    public static CrossViT variant(String name) {
        Config c = lookup(VARIANTS, "CrossViT", name);
        return new CrossViT(name, c, Preprocessing.imagenet(c.imgSize(), c.imgSize() == 408 ? 1.0 : 0.875, "bicubic"));
    }

    /** The authors' checkpoints name the tables {@code pos_embed.0}; timm's loader turns the dot into '_'. */
    @Override
    public org.attnzoo.sdk.tensor.StateDict adapt(org.attnzoo.sdk.tensor.StateDict upstream) {
        boolean authors = false;
        for (String k : upstream.keys()) {
            if (k.startsWith("pos_embed.") || k.startsWith("cls_token.")) authors = true;
        }
        if (!authors) return upstream;
        return org.attnzoo.converters.KeyMap.builder().rename("(pos_embed|cls_token)\\.(\\d+)", "$1_$2").build().apply(upstream);
    }

    /** Isotropic branches: the concatenated pooled tokens (timm's pre-logits), no feature pyramid. */
    @Override
    public org.attnzoo.zoo.arch.Backbone backbone() {
        return org.attnzoo.zoo.arch.Backbone.embeddingOnly(java.util.Arrays.stream(cfg.embedDims()).sum());
    }

    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        throw fixedSize(height, width, "its branches' absolute position tables are learned for the card's patch grids, and the upstream model does not resample them");
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int nb = cfg.branches();
        if (cfg.depths().length == 0) throw new IllegalArgumentException("CrossViT needs at least one multi-scale block");
        Value[] xs = new Value[nb];
        for (int i = 0; i < nb; i++) {
            final int b = i;
            xs[i] = g.named("branch" + i, () -> embed(g, w, scaleImage(g, image, cfg.scaledSizes()[b]), b));
        }
        for (int m = 0; m < cfg.depths().length; m++) {
            final int mm = m;
            final Value[] in = xs;
            xs = g.named("blocks." + m, () -> multiScaleBlock(w.scope("blocks", mm), in, cfg.depths()[mm]));
        }
        Value[] pooled = new Value[nb];
        long total = 0;
        for (int i = 0; i < nb; i++) {
            long c = cfg.embedDims()[i];
            Scope norm = w.scope("norm", i);
            if (cfg.globalPool().equals("token")) {
                pooled[i] = LayerNorm.apply(norm, g.select(xs[i], 1, 0), c, EPS);
            } else if (cfg.globalPool().equals("avg")) {
                Value x = LayerNorm.apply(norm, xs[i], c, EPS);
                pooled[i] = g.reduceMean(g.slice(x, 1, 1, Long.MAX_VALUE), false, 1);
            } else {
                throw new IllegalArgumentException("global_pool '" + cfg.globalPool() + "' gives no logits");
            }
            total += c;
        }
        // mean_i(head_i(x_i)) = concat(x) · [W_0; W_1]ᵀ / n + mean(b_i)
        float[][] ws = new float[nb][];
        float[] bias = new float[cfg.numClasses()];
        for (int i = 0; i < nb; i++) {
            Scope h = w.scope("head", i);
            ws[i] = h.floats("weight", cfg.numClasses(), cfg.embedDims()[i]);
            float[] b = h.floats("bias", cfg.numClasses());
            for (int k = 0; k < bias.length; k++) bias[k] += b[k] / nb;
        }
        int classes = cfg.numClasses();
        int tot = Math.toIntExact(total);
        float[] wt = new float[tot * classes];
        int row = 0;
        for (int i = 0; i < nb; i++) {
            int c = cfg.embedDims()[i];
            for (int k = 0; k < classes; k++) {
                for (int e = 0; e < c; e++) wt[(row + e) * classes + k] = ws[i][k * c + e] / nb;
            }
            row += c;
        }
        Value feats = nb == 1 ? pooled[0] : g.concat(1, pooled);
        org.attnzoo.zoo.arch.Taps.of(g).embedding(feats);      // timm forward_head(pre_logits=True): the branches' pooled tokens, concatenated
        Value logits = g.matMul(feats, w.derived("head.weight", "heads of all branches stacked [sum(dims), classes], / branches", wt, total, classes));
        return g.add(logits, w.derived("head.bias", "mean of the branch heads' biases", bias, classes));
    }

    /** timm's {@code scale_image}: the input as is, centre-cropped, or bicubically resized to {@code side}. */
    private Value scaleImage(Graph g, Value x, int side) {
        long h = x.dim(2), wd = x.dim(3);
        if (h == side && wd == side) return x;
        if (cfg.cropScale() && side <= h && side <= wd) {
            long cu = Math.round((h - side) / 2.0), cl = Math.round((wd - side) / 2.0);
            return g.slice(x, new long[]{cu, cl}, new long[]{cu + side, cl + side}, new long[]{2, 3}, null);
        }
        return bicubicResize(g, x, side, side);
    }

    /**
     * {@code F.interpolate(x, size, mode='bicubic', align_corners=False)} (no antialiasing, like
     * upstream) as two MatMuls with constant interpolation matrices: {@code R_h · x · R_wᵀ}.
     * The same values as ONNX Resize (cubic, cubic_coeff_a = -0.75, half_pixel, exclude_outside = 0;
     * see {@link #onnxBicubicResize}), which ONNX Runtime 1.22 runs single-threaded and ~20× slower.
     */
    public static Value bicubicResize(Graph g, Value x, int outH, int outW) {
        int inH = Math.toIntExact(x.dim(2)), inW = Math.toIntExact(x.dim(3));
        Value y = g.matMul(x, g.constant("resize_w", transpose(bicubicMatrix(inW, outW), outW, inW), inW, outW));
        return g.matMul(g.constant("resize_h", bicubicMatrix(inH, outH), outH, inH), y);
    }

    /** ONNX Resize with PyTorch's bicubic semantics (verified equal; slow on ONNX Runtime's CPU provider). */
    public static Value onnxBicubicResize(Graph g, Value x, int outH, int outW) {
        Value sizes = g.concat(0, g.shapeOf(x, 0, 2), g.ints(outH, outW));
        return g.op1("Resize", new Value[]{x, null, null, sizes}, x.dtype(), new long[]{x.dim(0), x.dim(1), outH, outW},
                Attr.s("mode", "cubic"), Attr.f("cubic_coeff_a", -0.75f), Attr.s("coordinate_transformation_mode", "half_pixel"),
                Attr.i("exclude_outside", 0));
    }

    /**
     * The {@code [out, in]} matrix of PyTorch's bicubic resampling along one axis: source
     * coordinate {@code (o + 0.5)·in/out - 0.5}, Keys' cubic kernel with a = -0.75 on the four
     * taps around it, taps beyond the border clamped to the edge sample.
     */
    public static float[] bicubicMatrix(int in, int out) {
        double a = -0.75, scale = (double) in / out;
        float[] m = new float[out * in];
        for (int o = 0; o < out; o++) {
            double src = (o + 0.5) * scale - 0.5;
            int i0 = (int) Math.floor(src);
            double t = src - i0;
            double[] w = {
                    cubicFar(t + 1, a), cubicNear(t, a), cubicNear(1 - t, a), cubicFar(2 - t, a)};
            for (int k = 0; k < 4; k++) {
                int idx = Math.min(Math.max(i0 - 1 + k, 0), in - 1);
                m[o * in + idx] += (float) w[k];
            }
        }
        return m;
    }

    private static double cubicNear(double x, double a) {
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    }

    private static double cubicFar(double x, double a) {
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    }

    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        }
        return t;
    }

    /** Patch embedding, CLS token and position table: {@code [B, 1+N_i, C_i]}. */
    private Value embed(Graph g, Scope w, Value img, int i) {
        long c = cfg.embedDims()[i];
        int n = cfg.patches(i);
        Scope proj = w.scope("patch_embed", i).scope("proj");
        Value x;
        float[] lastBias;
        if (cfg.multiConv()) {
            int p = cfg.patchSizes()[i];
            int[] s2 = switch (p) {
                case 12 -> new int[]{3, 0, 1, 1};
                case 16 -> new int[]{2, 1, 2, 1};
                default -> throw new IllegalArgumentException("CrossViT multi-conv patch embedding exists for patch 12 and 16, not " + p);
            };
            long c4 = c / 4, c2 = c / 2;
            x = g.conv2d(img, proj.param("0.weight", c4, cfg.inChans(), 7, 7), proj.param("0.bias", c4),
                    new int[]{4, 4}, new int[]{3, 3, 3, 3}, new int[]{1, 1}, 1);
            x = g.relu(x);
            x = g.conv2d(x, proj.param("2.weight", c2, c4, 3, 3), proj.param("2.bias", c2),
                    new int[]{s2[0], s2[0]}, new int[]{s2[1], s2[1], s2[1], s2[1]}, new int[]{1, 1}, 1);
            x = g.relu(x);
            x = g.conv2d(x, proj.param("4.weight", c, c2, 3, 3), null,
                    new int[]{s2[2], s2[2]}, new int[]{s2[3], s2[3], s2[3], s2[3]}, new int[]{1, 1}, 1);
            lastBias = proj.floats("4.bias", c);
        } else {
            int p = cfg.patchSizes()[i];
            x = g.conv2d(img, proj.param("weight", c, cfg.inChans(), p, p), null, new int[]{p, p}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
            lastBias = proj.floats("bias", c);
        }
        long tokens = x.dim(2) * x.dim(3);
        if (tokens != n) {
            throw new ShapeException("CrossViT branch " + i + ": patch embedding gives " + tokens + " tokens, the position table has " + n);
        }
        x = g.transpose(g.reshape(x, -1, c, tokens), 0, 2, 1);
        int ci = Math.toIntExact(c);
        float[] pos = w.floats("pos_embed_" + i, 1, 1 + n, c);
        float[] cls = w.floats("cls_token_" + i, 1, 1, c);
        float[] clsPos = new float[ci];
        for (int e = 0; e < ci; e++) clsPos[e] = cls[e] + pos[e];
        float[] patchPos = new float[n * ci];
        for (int t = 0; t < n; t++) {
            for (int e = 0; e < ci; e++) patchPos[t * ci + e] = pos[(1 + t) * ci + e] + lastBias[e];
        }
        x = g.add(x, w.derived("pos_embed_" + i + ".patches", "pos_embed rows 1.. plus the patch projection's bias", patchPos, 1, n, c));
        Value clsTok = w.derived("cls_token_" + i + ".with_pos", "cls_token plus pos_embed row 0", clsPos, 1, 1, c);
        return g.concat(1, g.expandBatch(clsTok, x), x);
    }

    private Value[] multiScaleBlock(Scope s, Value[] x, int[] depth) {
        Graph g = s.graph();
        int nb = cfg.branches();
        Value[] outs = new Value[nb];
        for (int i = 0; i < nb; i++) {
            if (depth[i] == 0) throw new IllegalArgumentException("CrossViT: every branch needs at least one block per stage (upstream's indexing assumes it)");
            long c = cfg.embedDims()[i];
            long hidden = (long) (c * cfg.mlpRatios()[i]);
            Value y = x[i];
            final int br = i;
            for (int j = 0; j < depth[i]; j++) {
                Scope b = s.scope("blocks." + i + "." + j);
                final Value in = y;
                y = g.named("b" + i + "." + j, () -> {
                    Value a = Attention.mhsa(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), in, c, EPS), c, cfg.numHeads()[br], cfg.qkvBias());
                    Value r = g.add(in, a);
                    return g.add(r, Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), r, c, EPS), c, hidden, c));
                });
            }
            outs[i] = y;
        }
        Value[] projCls = new Value[nb];
        Value[] patches = new Value[nb];
        for (int i = 0; i < nb; i++) {
            long c = cfg.embedDims()[i], o = cfg.embedDims()[(i + 1) % nb];
            patches[i] = g.slice(outs[i], 1, 1, Long.MAX_VALUE);
            projCls[i] = lnGeluLinear(s.scope("projs", i), g.slice(outs[i], 1, 0, 1), c, o);
        }
        Value[] result = new Value[nb];
        int fusionDepth = depth[nb];
        for (int i = 0; i < nb; i++) {
            int j = (i + 1) % nb;
            long o = cfg.embedDims()[j];
            Value t = g.concat(1, projCls[i], patches[j]);
            if (fusionDepth == 0) {
                t = crossAttentionBlock(s.scope("fusion", i), t, o, cfg.numHeads()[j]);
            } else {
                for (int k = 0; k < fusionDepth; k++) {
                    t = crossAttentionBlock(s.scope("fusion." + i + "." + k), t, o, cfg.numHeads()[j]);
                }
            }
            Value back = lnGeluLinear(s.scope("revert_projs", i), t, o, cfg.embedDims()[i]);
            result[i] = g.concat(1, back, patches[i]);
        }
        return result;
    }

    /** {@code Sequential(LayerNorm, GELU, Linear)} (upstream's projs / revert_projs). */
    private static Value lnGeluLinear(Scope s, Value x, long in, long out) {
        Graph g = s.graph();
        Value h = g.gelu(LayerNorm.apply(s.scope("0"), x, in, EPS));
        return Linear.apply(s.scope("2"), h, in, out, true);
    }

    /**
     * {@code x[:, :1] + CrossAttention(norm1(x))}: the CLS token attends over all tokens. Output
     * {@code [B, 1, C]}. See the class comment for the folding of the key and value projections.
     */
    private Value crossAttentionBlock(Scope s, Value x, long dim, int heads) {
        Graph g = s.graph();
        return g.named(s.prefix(), () -> {
            int c = Math.toIntExact(dim);
            Scope a = s.scope("attn");
            Value xn = LayerNorm.apply(s.scope("norm1"), x, dim, EPS);
            Value cls = g.slice(x, 1, 0, 1);
            boolean bias = cfg.qkvBias();
            float[] wq = a.scope("wq").floats("weight", dim, dim);
            float[] bq = bias ? a.scope("wq").floats("bias", dim) : null;
            float[] wk = a.scope("wk").floats("weight", dim, dim);
            if (bias) a.scope("wk").floats("bias", dim); // cancels in the softmax (one query)
            float[] wv = a.scope("wv").floats("weight", dim, dim);
            float[] bv = bias ? a.scope("wv").floats("bias", dim) : null;
            Value merged = SingleQueryAttention.apply(xn, c, heads, wq, bq, wk, wv, bv, a, "wq", "wk", "wv");
            return g.add(cls, Linear.apply(a.scope("proj"), merged, dim, dim, true));
        });
    }
}
