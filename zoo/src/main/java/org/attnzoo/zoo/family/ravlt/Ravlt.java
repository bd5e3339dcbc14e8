package org.attnzoo.zoo.family.ravlt;

import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.graph.Attr;
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
 * RAVLT (Fan et al., "Breaking the Low-Rank Dilemma of Linear Attention", CVPR 2025), as the
 * authors' {@code classfication/RALA.py}: a four-conv stem, four stages of blocks (residual
 * depthwise 3×3 position conv; pre-norm attention with a gate and a 5×5 LePE; pre-norm FFN with a
 * residual depthwise conv), Conv-BN patch merging, then a 1×1 projection, BatchNorm, Swish, mean
 * pool and a 1×1 classifier.
 *
 * <p><b>Rank-augmented linear attention</b> (stages flagged 'l'): {@code q, k = ELU(·) + 1}; each
 * key is reweighted by {@code N · softmax_tokens(scale · mean(q) · kᵀ)}; queries and keys get 2-D
 * RoPE; the output is {@code (q_rope · (k_ropeᵀ v / N)) / (q · mean(k) + 1e-6)}. Stages flagged
 * 'v' use softmax attention on RoPE'd queries and keys. RoPE ({@code x·cos + rot(x)·sin}, with
 * {@code rot} swapping and negating pairs) uses constant sin/cos tables per stage built from the
 * checkpoint's {@code angle} buffers, and {@code rot} as a constant signed permutation matrix.
 *
 * <p>Build-time folding: BatchNorms into their convs, the softmax-attention scale into the query
 * rows of {@code qkvo}, residual depthwise convs' identities into their centre taps, layer scales
 * into the attention and FFN output convs, the final BatchNorm into the projection.
 */
public final class Ravlt extends FamilyArchitecture<Ravlt.Config> {

    /** The authors' RAVLT arguments; {@code linear[i][j]}: block j of stage i uses linear attention. */
    public record Config(int imgSize, int numClasses, int[] embedDims, int[] depths, int[] numHeads, double[] mlpRatios,
                         int projection, boolean[] layerScales, boolean[][] linear) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    private static Config v(int[] dims, int[] depths, int[] heads) {
        boolean[][] lin = new boolean[4][];
        for (int i = 0; i < 4; i++) {
            lin[i] = new boolean[depths[i]];
            java.util.Arrays.fill(lin[i], i < 2);
        }
        return new Config(224, 1000, dims, depths, heads, new double[]{3.5, 3.5, 3.5, 3.5}, 1024,
                new boolean[]{true, true, true, true}, lin);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("RAVLT_T", v(new int[]{64, 128, 256, 512}, new int[]{2, 2, 6, 2}, new int[]{1, 2, 4, 8}));
        m.put("RAVLT_S", v(new int[]{64, 128, 320, 512}, new int[]{3, 5, 9, 3}, new int[]{1, 2, 5, 8}));
        m.put("RAVLT_B", v(new int[]{96, 192, 384, 512}, new int[]{4, 6, 12, 6}, new int[]{1, 2, 6, 8}));
        m.put("RAVLT_L", v(new int[]{96, 192, 448, 640}, new int[]{4, 7, 19, 8}, new int[]{1, 2, 7, 10}));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public Ravlt(String name, Config cfg, Preprocessing pre) {
        super("ravlt", name, cfg, pre);
    }

    /** The authors' eval transform: resize to 256/224 of the size (bicubic), centre crop, ImageNet mean/std. */
    public static Ravlt variant(String name) {
        Config c = lookup(VARIANTS, "RAVLT", name);
        return new Ravlt(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    /**
     * The pre-logits vector (1×1 projection, BatchNorm, Swish, mean pool: what the 1×1 head reads,
     * {@code projection} wide) and the four stage maps at strides 4, 8, 16, 32 as the authors'
     * detection and segmentation backbone returns them ({@code detection/mmdet/models/backbones/RALA.py},
     * {@code GLTA}, identical in {@code segmentation/}): each layer's blocks' output before its
     * PatchMerging, through the backbone's own {@code extra_norms[i]} (LayerNorm2d, eps 1e-6).
     */
    @Override
    public Backbone backbone() {
        return Backbone.of(cfg.projection(), cfg.embedDims().clone(), new int[]{4, 8, 16, 32});
    }

    /**
     * Any square size: the stem and patch mergings are padded stride-2 convs (maps round up), and
     * the RoPE tables are computed for the map each stage meets (no position table in the weights
     * but the per-stage {@code angle}), so the authors' model runs at any size on the same weights.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "RAVLT's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new Ravlt(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] e = cfg.embedDims();
        Taps taps = Taps.of(g);
        Scope pe = w.scope("patch_embed.proj");
        Value x = g.gelu(convBn(pe.scope("0"), pe.scope("1"), image, e[0] / 2, 3, 2));
        x = g.gelu(convBn(pe.scope("3"), pe.scope("4"), x, e[0] / 2, 3, 1));
        x = g.gelu(convBn(pe.scope("6"), pe.scope("7"), x, e[0] / 2, 3, 1));
        x = convBn(pe.scope("9"), pe.scope("10"), x, e[0], 3, 2);
        for (int i = 0; i < e.length; i++) {
            Scope layer = w.scope("layers", i);
            Rope rope = new Rope(g, layer.scope("RoPE"), Math.toIntExact(x.dim(2)), Math.toIntExact(x.dim(3)), e[i] / cfg.numHeads()[i], i);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = layer.scope("blocks", j);
                final Value in = x;
                final int si = i, bj = j;
                x = g.named("layers." + i + ".blocks." + j, () -> block(b, in, si, bj, rope));
            }
            if (taps.wants(i)) taps.feature(i, outputNorm(w.scope("extra_norms", i), x));
            if (i < e.length - 1) x = convBn(layer.scope("downsample.reduction"), layer.scope("downsample.norm"), x, e[i + 1], 3, 2);
        }
        Value y = g.silu(convBn(w.scope("proj"), w.scope("norm"), x, cfg.projection(), 1, 1));
        Value p = g.reshape(g.globalAvgPool(y), -1, cfg.projection());
        taps.embedding(p);
        Scope h = w.scope("head");
        float[] hw = h.floats("weight", cfg.numClasses(), cfg.projection(), 1, 1);
        return g.gemm(p, h.derived("weight_2d", "1x1 conv as a matrix", hw, cfg.numClasses(), cfg.projection()),
                h.param("bias", cfg.numClasses()), true);
    }

    /** A conv with bias followed by a BatchNorm, as one conv. */
    private static Value convBn(Scope conv, Scope bn, Value x, int out, int k, int stride) {
        return BatchNorm.convFolded(conv, bn, x, out, k, stride, 1, true, BatchNorm.DEFAULT_EPS);
    }

    /** A conv with bias; {@code rowScale} (per output channel, or null) folded in; {@code identity} adds x (depthwise odd k). */
    private static Value conv(Scope s, Value x, int out, int k, int groups, float[] rowScale, boolean identity) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1)), ipg = in / groups, p = k / 2;
        int[] one = {1, 1}, pads = {p, p, p, p};
        if (rowScale == null && !identity) {
            return g.conv2d(x, s.param("weight", out, ipg, k, k), s.param("bias", out), one, pads, one, groups);
        }
        float[] w = s.floats("weight", out, ipg, k, k).clone(), b = s.floats("bias", out).clone();
        int per = ipg * k * k;
        for (int o = 0; o < out; o++) {
            if (identity) w[o * per + (k / 2) * k + k / 2] += 1f;
            if (rowScale != null) {
                for (int j = 0; j < per; j++) w[o * per + j] *= rowScale[o];
                b[o] *= rowScale[o];
            }
        }
        String doc = (identity ? "identity added to the centre tap" : "") + (rowScale != null ? (identity ? "; " : "") + "scale folded in" : "");
        return g.conv2d(x, s.derived("weight_folded", doc, w, out, ipg, k, k), s.derived("bias_folded", null, b, out), one, pads, one, groups);
    }

    /** LayerNorm over channels (eps 1e-6) of an NCHW map; weights under {@code s.norm}. */
    private static Value layerNorm2d(Scope s, Value x) {
        return LayerNorm.channelsFirst(s.scope("norm"), x, 1e-6f);
    }

    /**
     * GLTA's per-output {@code extra_norms[i]} (LayerNorm2d, eps 1e-6, weights under {@code .norm}):
     * read from the checkpoint where it holds one (a detection/segmentation checkpoint); a
     * classification checkpoint has none, and GLTA then starts from PyTorch's initialisation
     * (weight 1, bias 0; its _init_weights sets the same), which is what we build.
     */
    private static Value outputNorm(Scope s, Value x) {
        return LayerNorm.channelsFirstOrInitial(s.scope("norm"), x, 1e-6f);
    }

    /** A stage's RoPE tables: {@code cos}, {@code sin} [N, hd] and the pair rotation [hd, hd]. */
    private static final class Rope {
        final Value cos, sin, rot;

        Rope(Graph g, Scope s, int h, int w, int hd, int stage) {
            if (hd % 4 != 0) throw new IllegalArgumentException("RAVLT RoPE needs a head dim divisible by 4, got " + hd);
            // the authors' main.py loads with strict=False: a checkpoint without the buffer runs on the constructor's values
            float[] angle = !s.weights().isSynthetic() && !s.has("angle") ? constructorAngle(hd) : s.buffer("angle", hd / 2);
            int half = hd / 2, n = h * w;
            float[] c = new float[n * hd], sn = new float[n * hd];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int t = y * w + x;
                    for (int j = 0; j < half; j++) {
                        double ah = (double) y * angle[j], aw = (double) x * angle[j];
                        c[t * hd + j] = (float) Math.cos(ah);
                        sn[t * hd + j] = (float) Math.sin(ah);
                        c[t * hd + half + j] = (float) Math.cos(aw);
                        sn[t * hd + half + j] = (float) Math.sin(aw);
                    }
                }
            }
            float[] r = new float[hd * hd];                  // x @ r: out[2i] = -x[2i+1], out[2i+1] = x[2i]
            for (int i = 0; i < hd / 2; i++) {
                r[(2 * i + 1) * hd + 2 * i] = -1f;
                r[(2 * i) * hd + 2 * i + 1] = 1f;
            }
            cos = s.derived("cos_table", "cos(position * angle), rows (h, w), columns [height half | width half]", c, n, hd);
            sin = s.derived("sin_table", "sin(position * angle)", sn, n, hd);
            rot = s.derived("rotate_every_two", "pairs (a, b) -> (-b, a) as a matrix", r, hd, hd);
        }

        /** RoPE's {@code angle} as its constructor makes it: {@code 1 / 10000^linspace(0, 1, hd/4)}, each value twice. */
        static float[] constructorAngle(int hd) {
            int n = hd / 4;
            float[] a = new float[2 * n];
            for (int i = 0; i < n; i++) {
                double t = n == 1 ? 0 : (double) i / (n - 1);
                a[2 * i] = a[2 * i + 1] = (float) (1.0 / Math.pow(10000, t));
            }
            return a;
        }

        Value apply(Graph g, Value x) {
            return g.add(g.mul(x, cos), g.mul(g.matMul(x, rot), sin));
        }
    }

    private Value block(Scope b, Value x, int i, int j, Rope rope) {
        Graph g = b.graph();
        int dim = cfg.embedDims()[i];
        x = conv(b.scope("pos"), x, dim, 3, dim, null, true);
        float[] g1 = cfg.layerScales()[i] ? b.floats("gamma_1", 1, dim, 1, 1) : null;
        float[] g2 = cfg.layerScales()[i] ? b.floats("gamma_2", 1, dim, 1, 1) : null;
        x = g.add(x, attention(b.scope("attn"), layerNorm2d(b.scope("norm1"), x), dim, cfg.numHeads()[i], cfg.linear()[i][j], rope, g1));
        int ffn = (int) (cfg.mlpRatios()[i] * dim);
        Scope f = b.scope("ffn");
        Value h = g.gelu(conv(f.scope("fc1"), layerNorm2d(b.scope("norm2"), x), ffn, 1, 1, null, false));
        h = conv(f.scope("dwconv"), h, ffn, 3, ffn, null, true);
        return g.add(x, conv(f.scope("fc2"), h, dim, 1, 1, g2, false));
    }

    private static Value attention(Scope s, Value x, int dim, int heads, boolean linear, Rope rope, float[] gamma) {
        Graph g = s.graph();
        int hd = dim / heads;
        long h = x.dim(2), w = x.dim(3), n = h * w;
        double scale = Math.pow(hd, -0.5);
        float[] rows = new float[4 * dim];
        java.util.Arrays.fill(rows, 1f);
        if (!linear) for (int r = 0; r < dim; r++) rows[r] = (float) scale;   // softmax attention: scale the queries
        Value qkvo = conv(s.scope("qkvo"), x, 4 * dim, 1, 1, linear ? null : rows, false);
        Value[] parts = g.split(qkvo, 1, dim, dim, dim, dim);
        Value lepe = conv(s.scope("lepe"), parts[2], dim, 5, dim, null, false);
        Value q = g.transpose(g.reshape(parts[0], -1, heads, hd, n), 0, 1, 3, 2);    // [B, heads, N, hd]
        Value k = g.transpose(g.reshape(parts[1], -1, heads, hd, n), 0, 1, 3, 2);
        Value v = g.transpose(g.reshape(parts[2], -1, heads, hd, n), 0, 1, 3, 2);
        Value res;
        if (linear) {
            q = g.add(elu(g, q), 1f);
            k = g.add(elu(g, k), 1f);
            long[] mean1 = {q.dim(0), heads, 1, hd};
            Value qMean = g.op1("ReduceMean", new Value[]{q}, q.dtype(), mean1, Attr.ints("axes", 2), Attr.i("keepdims", 1));
            Value eff = g.softmax(g.mul(g.matMul(qMean, g.transpose(k, 0, 1, 3, 2)), (float) scale), -1);   // [B, heads, 1, N]
            k = g.mul(g.mul(k, g.transpose(eff, 0, 1, 3, 2)), (float) n);
            Value kMean = g.op1("ReduceMean", new Value[]{k}, k.dtype(), mean1, Attr.ints("axes", 2), Attr.i("keepdims", 1));
            Value z = g.op1("Reciprocal", new Value[]{g.add(g.matMul(q, g.transpose(kMean, 0, 1, 3, 2)), 1e-6f)}, q.dtype(),
                    new long[]{q.dim(0), heads, n, 1});
            Value kv = g.mul(g.matMul(g.transpose(rope.apply(g, k), 0, 1, 3, 2), v), (float) (1.0 / n));   // [B, heads, hd, hd]
            res = g.mul(g.matMul(rope.apply(g, q), kv), z);
        } else {
            Value attn = g.softmax(g.matMul(rope.apply(g, q), g.transpose(rope.apply(g, k), 0, 1, 3, 2)), -1);
            res = g.matMul(attn, v);
        }
        Value img = g.reshape(g.transpose(res, 0, 1, 3, 2), -1, dim, h, w);
        return conv(s.scope("proj"), g.mul(g.add(img, lepe), parts[3]), dim, 1, 1, gamma, false);
    }

    private static Value elu(Graph g, Value x) {
        return g.op1("Elu", new Value[]{x}, x.dtype(), x.shape(), Attr.f("alpha", 1f));
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.embedDims());
    }
}
