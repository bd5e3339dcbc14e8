package org.attnzoo.zoo.family.biformer;

import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * BiFormer (Zhu et al., CVPR 2023), as the authors' {@code models/biformer.py} with the
 * bi-level routing attention of {@code ops/bra_legacy.py} (the layout of the released weights):
 * a two-conv stem, Conv-BN downsamplings, blocks of a residual depthwise position conv, pre-norm
 * attention and a pre-norm MLP; BatchNorm, mean pool, Linear.
 *
 * <p><b>Bi-level routing attention</b> (stages with {@code topk > 0}): the map is cut into
 * {@code n_win × n_win} windows; window-mean queries and keys give a window-to-window affinity,
 * ONNX TopK keeps each window's {@code topk} best windows, two GatherNDs (batch_dims 2 over batch and heads) collect
 * their keys and values, and each window's pixels attend to the gathered tokens; a 5×5 depthwise
 * LePE on the values is added before the output projection. Stages with {@code topk = -2} use
 * plain multi-head attention (8 heads, no qkv bias) with a LePE on the attention input.
 *
 * <p>Ties in the routing. ONNX TopK keeps the lowest index among equal logits; PyTorch's CPU
 * top-k selects with {@code std::nth_element} on values only, so its choice among equals follows
 * no index rule (and CUDA's radix select another). Exactly equal routing logits come from windows
 * whose queries/keys are equal, in practice identical windows, and then every choice gathers the
 * same keys and values: the output is the same. The parity test includes such a fixture in which
 * PyTorch's picks differ from the lowest-index ones in 7 of 16 tied rows.
 *
 * <p>Build-time folding: the routing/attention scale {@code qk_dim^-0.5} into the query rows of
 * the qkv projection (the window means are linear in it); BatchNorms into their convs; the final
 * BatchNorm into the head; the position conv's identity into its centre tap.
 */
public final class BiFormer extends FamilyArchitecture<BiFormer.Config> {

    /** The authors' BiFormer arguments the registered models set (kv downsampling "identity", pre-norm, no layer scale). */
    public record Config(int imgSize, int numClasses, int[] depth, int[] embedDim, double[] mlpRatios, int[] topks,
                         int[] qkDims, int headDim, int nWin, int sideDwconv) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    private static Config v(int[] depth, int[] dims) {
        return new Config(224, 1000, depth, dims, new double[]{3, 3, 3, 3}, new int[]{1, 4, 16, -2}, dims.clone(), 32, 7, 5);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("biformer_tiny", v(new int[]{2, 2, 8, 2}, new int[]{64, 128, 256, 512}));
        m.put("biformer_small", v(new int[]{4, 4, 18, 4}, new int[]{64, 128, 256, 512}));
        m.put("biformer_base", v(new int[]{4, 4, 18, 4}, new int[]{96, 192, 384, 768}));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public BiFormer(String name, Config cfg, Preprocessing pre) {
        super("biformer", name, cfg, pre);
    }

    /** The authors' eval transform (DeiT's): resize to 256/224 of the size (bicubic), centre crop. */
    public static BiFormer variant(String name) {
        Config c = lookup(VARIANTS, "BiFormer", name);
        return new BiFormer(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }


    /**
     * The pre-logits vector (the BatchNorm'd map, mean-pooled: what the head reads) and the four
     * stage maps at strides 4, 8, 16, 32 of the authors' dense-prediction backbone
     * ({@code object_detection/models_mm/biformer_mm.py BiFormer_mm}: each stage's output through
     * its own {@code extra_norms[i]} LayerNorm2d).
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDim(), 4);
    }

    /**
     * Another square size: no absolute positions, but the bi-level routing stages (topk &gt; 0)
     * cut their map into {@code n_win × n_win} windows (the authors' classification model has no
     * padding, {@code auto_pad=False}), so each such stage's map must divide by {@code n_win}.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "BiFormer's configuration has one image size (square inputs only)", 1);
        int last = -1;
        for (int i = 0; i < 4; i++) if (cfg.topks()[i] > 0) last = i;
        int multiple = last < 0 ? 32 : 4 * cfg.nWin() * (1 << last);
        if (height % multiple != 0) {
            throw badSize(height, width, "bi-level routing splits the stage-" + last + " map (1/" + (4 << last) + " of the input) into "
                    + cfg.nWin() + "x" + cfg.nWin() + " windows without padding, so the size must be a multiple of " + multiple, multiple);
        }
        return new BiFormer(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] e = cfg.embedDim();
        Taps taps = Taps.of(g);
        Scope st = w.scope("downsample_layers.0");
        Value x = g.gelu(convBn(st.scope("0"), st.scope("1"), image, e[0] / 2));
        x = convBn(st.scope("3"), st.scope("4"), x, e[0]);
        for (int i = 0; i < 4; i++) {
            if (i > 0) x = convBn(w.scope("downsample_layers." + i + ".0"), w.scope("downsample_layers." + i + ".1"), x, e[i]);
            for (int j = 0; j < cfg.depth()[i]; j++) {
                Scope b = w.scope("stages." + i, j);
                final Value in = x;
                final int si = i;
                x = g.named("stages." + i + "." + j, () -> block(b, in, si));
            }
            if (taps.wants(i)) taps.feature(i, extraNorm(w.scope("extra_norms", i), x, e[i]));
        }
        return head(w, x, e[3]);
    }

    /**
     * BiFormer_mm's {@code extra_norms[i]} (timm LayerNorm2d, eps 1e-6) on an NCHW stage output.
     * A detection/segmentation checkpoint holds {@code extra_norms.i.*}; a classification one
     * does not, and then this is the LayerNorm as PyTorch initialises it (weight 1, bias 0), which
     * is what BiFormer_mm holds on ImageNet weights before dense training.
     */
    private static Value extraNorm(Scope s, Value x, int c) {
        return LayerNorm.channelsFirstOrInitial(s, x, 1e-6f);
    }

    /** Conv 3×3 stride 2 (bias) + BatchNorm as one conv. */
    private static Value convBn(Scope conv, Scope bn, Value x, int out) {
        return BatchNorm.convFolded(conv, bn, x, out, 3, 2, 1, true, BatchNorm.DEFAULT_EPS);
    }

    /** Depthwise k×k conv with bias on an NCHW map; {@code identity} adds the input (centre tap). */
    private static Value depthwise(Scope s, Value x, int k, boolean identity) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1)), p = k / 2;
        int[] one = {1, 1}, pads = {p, p, p, p};
        if (!identity) return g.conv2d(x, s.param("weight", c, 1, k, k), s.param("bias", c), one, pads, one, c);
        float[] w = s.floats("weight", c, 1, k, k).clone();
        for (int o = 0; o < c; o++) w[o * k * k + (k / 2) * k + k / 2] += 1f;
        return g.conv2d(x, s.derived("weight_plus_identity", "identity added to the centre tap", w, c, 1, k, k), s.param("bias", c),
                one, pads, one, c);
    }

    /** nn.Linear over the last axis, weight stored [in, out]; rows of the output scaled by {@code scale[o]} (null: none). */
    private static Value linear(Scope s, Value x, int in, int out, boolean bias, float[] scale) {
        Graph g = s.graph();
        float[] w = s.floats("weight", out, in);
        float[] b = bias ? s.floats("bias", out) : null;
        float[] wt = new float[in * out], bt = bias ? new float[out] : null;
        for (int o = 0; o < out; o++) {
            float sc = scale == null ? 1f : scale[o];
            for (int i = 0; i < in; i++) wt[i * out + o] = w[o * in + i] * sc;
            if (bias) bt[o] = b[o] * sc;
        }
        Value y = g.matMul(x, s.derived("weight_t", "stored [in, out]" + (scale != null ? "; query scale folded in" : ""), wt, in, out));
        return bias ? g.add(y, s.derived("bias_t", null, bt, out)) : y;
    }

    private Value block(Scope b, Value x, int i) {
        Graph g = b.graph();
        int dim = cfg.embedDim()[i];
        x = depthwise(b.scope("pos_embed"), x, 3, true);
        Value t = g.transpose(x, 0, 2, 3, 1);                                     // NHWC
        Value n1 = g.layerNorm(t, b.scope("norm1").param("weight", dim), b.scope("norm1").param("bias", dim), 1e-6f, -1);
        Value a = cfg.topks()[i] > 0 ? routingAttention(b.scope("attn"), n1, dim, i) : lepeAttention(b.scope("attn"), n1, dim);
        t = g.add(t, a);
        Value n2 = g.layerNorm(t, b.scope("norm2").param("weight", dim), b.scope("norm2").param("bias", dim), 1e-6f, -1);
        int hid = (int) (cfg.mlpRatios()[i] * dim);
        Value m = linear(b.scope("mlp.3"), g.gelu(linear(b.scope("mlp.0"), n2, dim, hid, true, null)), hid, dim, true, null);
        return g.transpose(g.add(t, m), 0, 3, 1, 2);
    }

    /** Bi-level routing attention on an NHWC map. */
    private Value routingAttention(Scope s, Value x, int dim, int stage) {
        Graph g = s.graph();
        int qk = cfg.qkDims()[stage], heads = qk / cfg.headDim(), nw = cfg.nWin(), topk = cfg.topks()[stage];
        long h = x.dim(1), w = x.dim(2);
        if (h % nw != 0 || w % nw != 0) {
            throw new IllegalArgumentException(s.prefix() + ": bi-level routing needs a map divisible by n_win " + nw + ", got " + h + "x" + w
                    + " (use an input size divisible by " + (4L * nw * (1L << stage)) + ")");
        }
        int p2 = nw * nw;
        if (topk > p2) throw new IllegalArgumentException(s.prefix() + ": topk " + topk + " exceeds the " + p2 + " windows");
        long wh = h / nw, ww = w / nw, w2 = wh * ww;
        float[] scale = new float[2 * qk + dim];
        java.util.Arrays.fill(scale, 1f);
        for (int r = 0; r < qk; r++) scale[r] = (float) Math.pow(qk, -0.5);
        Value qkv = linear(s.scope("qkv.qkv"), x, dim, 2 * qk + dim, true, scale);       // [B, H, W, 2qk + dim]
        Value[] parts = g.split(qkv, 3, qk, qk, dim);
        // LePE on the values, over the whole map
        Value lepe = g.transpose(depthwise(s.scope("lepe"), g.transpose(parts[2], 0, 3, 1, 2), cfg.sideDwconv(), false), 0, 2, 3, 1);
        // q, k, v cut into windows and heads at once: [B, heads, p2, w2, c]; the gathered keys and
        // values then come out of GatherND already in the layout of the attention MatMuls
        int ch = qk / heads, cv = dim / heads;
        Value q = windowsByHead(g, parts[0], nw, wh, ww, heads, ch);
        Value k = windowsByHead(g, parts[1], nw, wh, ww, heads, ch);
        Value v = windowsByHead(g, parts[2], nw, wh, ww, heads, cv);
        // routing: window means [B, p2, qk] (channels in the original order), affinity, top-k
        Value qWin = windowMeans(g, q, p2, qk);
        Value kWin = windowMeans(g, k, p2, qk);
        Value affinity = g.matMul(qWin, g.transpose(kWin, 0, 2, 1));                      // [B, p2, p2]
        Value[] top = g.op("TopK", "", new Value[]{affinity, g.ints(topk)}, new DType[]{q.dtype(), DType.I64},
                new long[][]{{x.dim(0), p2, topk}, {x.dim(0), p2, topk}}, Attr.i("axis", -1), Attr.i("largest", 1), Attr.i("sorted", 1));
        Value idx1 = g.unsqueeze(top[1], 1, 4);                                            // [B, 1, p2, topk, 1]
        Value idx = g.op1("Expand", new Value[]{idx1, g.ints(1, heads, 1, 1, 1)}, DType.I64, new long[]{x.dim(0), heads, p2, topk, 1});
        long l = topk * w2;
        Value kSel = g.reshape(g.op1("GatherND", new Value[]{k, idx}, k.dtype(), new long[]{x.dim(0), heads, p2, topk, w2, ch},
                Attr.i("batch_dims", 2)), -1, heads, p2, l, ch);                           // [B, m, p2, L, ch]
        Value vSel = g.reshape(g.op1("GatherND", new Value[]{v, idx}, v.dtype(), new long[]{x.dim(0), heads, p2, topk, w2, cv},
                Attr.i("batch_dims", 2)), -1, heads, p2, l, cv);                           // [B, m, p2, L, cv]
        Value o = g.matMul(g.softmax(g.matMul(q, g.transpose(kSel, 0, 1, 2, 4, 3)), -1), vSel);   // [B, m, p2, w2, cv]
        Value img = g.reshape(g.transpose(g.reshape(o, -1, heads, nw, nw, wh, ww, cv), 0, 2, 4, 3, 5, 1, 6), -1, h, w, dim);
        return linear(s.scope("wo"), g.add(img, lepe), dim, dim, true, null);
    }

    /** {@code [B, H, W, heads·c]} → {@code [B, heads, nw², wh·ww, c]} (windows row-major, as upstream's region partition). */
    private static Value windowsByHead(Graph g, Value x, int nw, long wh, long ww, int heads, int c) {
        Value t = g.transpose(g.reshape(x, -1, nw, wh, nw, ww, heads, c), 0, 5, 1, 3, 2, 4, 6);   // [B, heads, nw, nw, wh, ww, c]
        return g.reshape(t, -1, heads, (long) nw * nw, wh * ww, c);
    }

    /** Each window's mean token of a {@code [B, heads, p2, w2, c]} tensor, as {@code [B, p2, heads·c]}. */
    private static Value windowMeans(Graph g, Value x, int p2, int channels) {
        long[] s = {x.dim(0), x.dim(1), p2, x.dim(4)};
        Value m = g.op1("ReduceMean", new Value[]{x}, x.dtype(), s, Attr.ints("axes", 3), Attr.i("keepdims", 0));
        return g.reshape(g.transpose(m, 0, 2, 1, 3), -1, p2, channels);
    }

    /** AttentionLePE: 8-head attention (no qkv bias) plus a depthwise LePE of its input, then the projection. */
    private Value lepeAttention(Scope s, Value x, int dim) {
        Graph g = s.graph();
        int heads = 8, hd = dim / heads;
        long h = x.dim(1), w = x.dim(2), n = h * w;
        float[] scale = new float[3 * dim];
        java.util.Arrays.fill(scale, 1f);
        for (int r = 0; r < dim; r++) scale[r] = (float) Math.pow(hd, -0.5);
        Value tokens = g.reshape(x, -1, n, dim);
        Value qkv = g.transpose(g.reshape(linear(s.scope("qkv"), tokens, dim, 3 * dim, false, scale), -1, n, 3, heads, hd), 2, 0, 3, 1, 4);
        Value[] p = g.split(qkv, 0, 1, 1, 1);
        Value q = g.squeeze(p[0], 0), k = g.squeeze(p[1], 0), v = g.squeeze(p[2], 0);       // [B, heads, N, hd]
        Value o = g.matMul(g.softmax(g.matMul(q, g.transpose(k, 0, 1, 3, 2)), -1), v);
        Value merged = g.reshape(g.transpose(o, 0, 2, 1, 3), -1, h, w, dim);
        Value lepe = g.transpose(depthwise(s.scope("lepe"), g.transpose(x, 0, 3, 1, 2), cfg.sideDwconv(), false), 0, 2, 3, 1);
        return linear(s.scope("proj"), g.add(merged, lepe), dim, dim, true, null);
    }

    /**
     * BatchNorm2d, mean pool, Linear: the BatchNorm folded into the head. The embedding is the
     * pooled BatchNorm'd map (BatchNorm is per channel, so pooling first and then scaling is the
     * same), built only for an embedding output.
     */
    private Value head(Scope w, Value x, int c) {
        Graph g = w.graph();
        int k = cfg.numClasses();
        double[][] bn = BatchNorm.affine(w.scope("norm"), c, BatchNorm.DEFAULT_EPS);
        BatchNorm.Folded f = BatchNorm.foldBefore(w.scope("head").floats("weight", k, c), w.scope("head").floats("bias", k), bn);
        float[] fw = f.weight(), fb = f.bias();
        Value p = g.reshape(g.globalAvgPool(x), -1, c);
        float[] scale = new float[c], shift = new float[c];
        for (int i = 0; i < c; i++) {
            scale[i] = (float) bn[0][i];
            shift[i] = (float) bn[1][i];
        }
        Scope n = w.scope("norm");
        Taps.of(g).embedding(g.add(g.mul(p, n.derived("eval_scale", "BatchNorm as a per-channel scale (embedding only)", scale, c)),
                n.derived("eval_shift", "BatchNorm as a per-channel shift (embedding only)", shift, c)));
        Scope h = w.scope("head");
        return g.gemm(p, h.derived("weight_folded", "final BatchNorm folded in", fw, k, c), h.derived("bias_folded", null, fb, k), true);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.embedDim());
    }
}
