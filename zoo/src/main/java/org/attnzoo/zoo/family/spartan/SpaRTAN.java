package org.attnzoo.zoo.family.spartan;

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
 * SpaRTAN (Pay et al., 2025), as the authors' {@code src/model/spartan.py}: a two-conv stem,
 * layers of blocks (GroupNorm(1) pre-norm, a spatial mixer and a channel mixer, each scaled per
 * channel and added back) with 2×2 stride-2 Conv-BN-SiLU downsamplings between layers; mean pool
 * and Linear. The first half of the layers uses dense 3×3 convs, the second half grouped ones.
 *
 * <ul>
 *   <li><b>Spatial mixer</b>: 1×1 to half width, {@code x + γ(x − mean(x))}, then a 3×3 branch
 *       and a two-conv dilated 3×3 branch, each with squeeze-excite, concatenated, 1×1 out.</li>
 *   <li><b>Channel mixer</b>: with {@code i = argmax_c x} per pixel, {@code feat = w·θ + w_i·θ_i}
 *       ({@code θ = GELU(1×1 x)}, {@code w = 1×1 x}, both gathered at channel {@code i}); the
 *       channel pairs of {@code feat} times learned complex numbers; 3×3 Conv-BN-GELU, SE, 1×1.</li>
 * </ul>
 * In the graph: the argmax is ArgMax (first index on ties, as PyTorch) and GatherElements; the
 * complex product is a grouped 1×1 conv of 2×2 blocks {@code [[a, −b], [b, a]]}; GroupNorm(1) is
 * InstanceNormalization over the whole map plus the per-channel affine; BatchNorms (eps 1e-6) fold
 * into their convs and the block scales into the mixers' output convs. Upstream computes the
 * complex product in float32 even in higher precision; the graph is float32 throughout.
 */
public final class SpaRTAN extends FamilyArchitecture<SpaRTAN.Config> {
    static final double BN_EPS = 1e-6;

    /** The authors' constructor arguments ({@code num_layer = layerDepths.length}). */
    public record Config(int imgSize, int numClasses, int[] layerDepths, int[] expandRatios, int[] dims, int initDim)
            implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        // the released configuration (src/config/model/spartan.yaml), SpaRTAN-S on the authors' Hugging Face page
        m.put("spartan_s", new Config(256, 1000, new int[]{3, 3, 12, 2}, new int[]{4, 4, 2, 2}, new int[]{64, 128, 256}, 32));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public SpaRTAN(String name, Config cfg, Preprocessing pre) {
        super("spartan", name, cfg, pre);
    }

    /** The authors' eval transform: resize the short side to 256 (bilinear), centre crop 256. */
    public static SpaRTAN variant(String name) {
        Config c = lookup(VARIANTS, "SpaRTAN", name);
        return new SpaRTAN(name, c, Preprocessing.imagenet(c.imgSize(), 1.0, "bilinear"));
    }

    /**
     * The pooled vector {@code linear} reads and one feature map per layer that has blocks: the
     * output of its last block, before the downsampling that follows it. The authors' repository
     * has no detection or segmentation backbone class, so these are the stage outputs (what timm's
     * features_only takes). A layer without blocks has no output of its own and is no stage (and no
     * downsampling follows it). Reductions: 4 after the stem, ×2 per downsampling; the 2×2
     * stride-2 downsamplings drop an odd row/column, so maps are ⌊·⌋ there, not ⌈H/r⌉.
     */
    @Override
    public Backbone backbone() {
        java.util.List<int[]> st = new java.util.ArrayList<>();
        int n = cfg.layerDepths().length, dim = cfg.initDim(), r = 4;
        for (int layer = 0; layer < n; layer++) {
            if (cfg.layerDepths()[layer] == 0) continue;
            st.add(new int[]{dim, r});
            if (layer != n - 1) {
                dim = cfg.dims().length > 0 ? cfg.dims()[layer] : dim * 2;
                r *= 2;
            }
        }
        return Backbone.of(dim, st.stream().mapToInt(a -> a[0]).toArray(), st.stream().mapToInt(a -> a[1]).toArray());
    }

    /** Downsamplings after the stem: one after every layer with blocks but the last. */
    private int downsamplings() {
        int k = 0, n = cfg.layerDepths().length;
        for (int layer = 0; layer < n - 1; layer++) if (cfg.layerDepths()[layer] != 0) k++;
        return k;
    }

    /**
     * Any square size whose last map is at least 1×1: SpaRTAN is convolutional (its GroupNorms,
     * mean-centring and squeeze-excites take statistics of whole maps). The stem's stride-2 3×3
     * convs round up, each 2×2 stride-2 downsampling rounds down, so the size must be at least
     * 4·2^k − 3 for k downsamplings.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "SpaRTAN's configuration has one image size (square inputs only)", 1);
        int min = 4 * (1 << downsamplings()) - 3;
        if (height < min) {
            throw badSize(height, width, "the input must be at least " + min + "x" + min + " (two stride-2 stem convs and "
                    + downsamplings() + " 2x2 stride-2 downsamplings leave a 1x1 map)", 1);
        }
        return new SpaRTAN(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }


    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Value x = g.gelu(convNorm(w.scope("conv.0"), image, cfg.initDim() / 2, 3, 2, 1, 1, 1));
        x = g.gelu(convNorm(w.scope("conv.1"), x, cfg.initDim(), 3, 2, 1, 1, 1));
        int n = cfg.layerDepths().length, mid = n / 2, idx = 0, dim = cfg.initDim(), stage = 0;
        Taps taps = Taps.of(g);
        for (int layer = 0; layer < n; layer++) {
            for (int j = 0; j < cfg.layerDepths()[layer]; j++) {
                Scope b = w.scope("layers", idx);
                final Value in = x;
                final int d = dim, l = layer;
                final boolean grouped = layer >= mid;
                x = g.named("layers." + idx, () -> block(b, in, d, cfg.expandRatios().length > 0 ? cfg.expandRatios()[l] : 1, grouped));
                idx++;
            }
            if (cfg.layerDepths()[layer] != 0) taps.feature(stage++, x);   // the layer's last block (no backbone class upstream)
            if (cfg.layerDepths()[layer] != 0 && layer != n - 1) {
                int out = cfg.dims().length > 0 ? cfg.dims()[layer] : dim * 2;
                x = g.silu(convNorm(w.scope("layers", idx), x, out, 2, 2, 0, 1, 1));
                dim = out;
                idx++;
            }
        }
        Value pooled = g.reshape(g.globalAvgPool(x), -1, dim);
        taps.embedding(pooled);                                 // what linear reads
        Scope lin = w.scope("linear");
        return g.gemm(pooled, lin.param("weight", cfg.numClasses(), dim), lin.param("bias", cfg.numClasses()), true);
    }

    /** ConvNormAct's conv (no bias) with its BatchNorm (eps 1e-6) folded in; the activation is the caller's. */
    static Value convNorm(Scope s, Value x, int out, int k, int stride, int pad, int dilation, int groups) {
        return BatchNorm.convFolded(s.scope("conv"), s.scope("norm"), x, out, k, stride, pad, dilation, groups, false, BN_EPS);
    }

    /** A 1×1 conv with bias, its output channels scaled by {@code scale} (null for none). */
    static Value conv1x1(Scope s, Value x, int out, float[] scale) {
        int in = Math.toIntExact(x.dim(1));
        int[] one = {1, 1};
        if (scale == null) {
            return s.graph().conv2d(x, s.param("weight", out, in, 1, 1), s.param("bias", out), one, new int[]{0, 0, 0, 0}, one, 1);
        }
        float[] w = s.floats("weight", out, in, 1, 1).clone(), b = s.floats("bias", out).clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) w[o * in + i] *= scale[o];
            b[o] *= scale[o];
        }
        return s.graph().conv2d(x, s.derived("weight_scaled", "block scale folded in", w, out, in, 1, 1),
                s.derived("bias_scaled", null, b, out), one, new int[]{0, 0, 0, 0}, one, 1);
    }

    static Value se(Scope s, Value x, int squeeze) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value p = g.globalAvgPool(x);
        Value a = g.relu(g.conv2d(p, s.scope("squeeze").param("weight", squeeze, c, 1, 1), s.scope("squeeze").param("bias", squeeze), one, zero, one, 1));
        Value z = g.conv2d(a, s.scope("expand").param("weight", c, squeeze, 1, 1), s.scope("expand").param("bias", c), one, zero, one, 1);
        return g.mul(x, g.sigmoid(z));
    }

    /** GroupNorm with one group (eps 1e-6): normalise over [C, H, W], then the per-channel affine. */
    static Value groupNorm1(Scope s, Value x) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        long h = x.dim(2), w = x.dim(3);
        Value flat = g.reshape(x, -1, 1, c * h * w);
        Value n = g.op1("InstanceNormalization", new Value[]{flat, g.constant("gn_one", new float[]{1f}, 1),
                g.constant("gn_zero", new float[]{0f}, 1)}, flat.dtype(), flat.shape(), Attr.f("epsilon", 1e-6f));
        Value y = g.reshape(n, -1, c, h, w);
        return g.add(g.mul(y, s.derived("weight_c", "as [1, C, 1, 1]", s.floats("weight", c), 1, c, 1, 1)),
                s.derived("bias_c", null, s.floats("bias", c), 1, c, 1, 1));
    }

    private Value block(Scope b, Value x, int dim, int expand, boolean grouped) {
        Graph g = b.graph();
        float[] s1 = b.floats("scale_1", 1, dim, 1, 1), s2 = b.floats("scale_2", 1, dim, 1, 1);
        x = g.add(x, sMixer(b.scope("smixer"), groupNorm1(b.scope("norm_1"), x), dim, grouped, s1));
        return g.add(x, cMixer(b.scope("cmixer"), groupNorm1(b.scope("norm_2"), x), dim, expand, grouped, s2));
    }

    private static Value sMixer(Scope s, Value x, int dim, boolean grouped, float[] scale) {
        Graph g = s.graph();
        int half = dim / 2, groups = grouped ? dim / 2 : 1;
        Value p = conv1x1(s.scope("proj_in"), x, half, null);
        // x + γ(x − mean) = (1 + γ)x − γ·mean
        float[] gamma = s.floats("gamma", 1, half, 1, 1);
        float[] onePlus = new float[half];
        for (int i = 0; i < half; i++) onePlus[i] = 1f + gamma[i];
        Value mean = g.globalAvgPool(p);
        p = g.sub(g.mul(p, s.derived("one_plus_gamma", "1 + gamma", onePlus, 1, half, 1, 1)),
                g.mul(mean, s.derived("gamma_c", "gamma", gamma, 1, half, 1, 1)));
        Value h = se(s.scope("h_attn"), g.gelu(convNorm(s.scope("h_conv"), p, half, 3, 1, 1, 1, groups)), half / 4);
        Scope l0 = s.scope("l_conv.0");
        Value l = g.conv2d(p, l0.scope("conv").param("weight", half, half / groups, 3, 3), null, new int[]{1, 1},
                new int[]{2, 2, 2, 2}, new int[]{2, 2}, groups);
        l = se(s.scope("l_attn"), g.gelu(convNorm(s.scope("l_conv.1"), l, half, 3, 1, 2, 2, groups)), half / 4);
        return conv1x1(s.scope("proj_out"), g.concat(1, h, l), dim, scale);
    }

    private static Value cMixer(Scope s, Value x, int dim, int expand, boolean grouped, float[] scale) {
        Graph g = s.graph();
        int neck = dim * expand;
        long h = x.dim(2), w = x.dim(3);
        long[] one = {x.dim(0), 1, h, w};
        Value idx = g.op1("ArgMax", new Value[]{x}, org.attnzoo.sdk.tensor.DType.I64, one, Attr.i("axis", 1), Attr.i("keepdims", 1));
        Value theta = g.gelu(conv1x1(s.scope("theta"), x, neck, null));
        Value weight = conv1x1(s.scope("proj"), x, neck, null);
        Value thetaMax = g.op1("GatherElements", new Value[]{theta, idx}, theta.dtype(), one, Attr.i("axis", 1));
        Value weightMax = g.op1("GatherElements", new Value[]{weight, idx}, weight.dtype(), one, Attr.i("axis", 1));
        Value feat = g.add(g.mul(weight, theta), g.mul(weightMax, thetaMax));
        // channel pairs (2j, 2j+1) as complex numbers times (a_j + i b_j): a grouped 1x1 conv of [[a, -b], [b, a]]
        float[] cw = s.floats("complex", 1, 1, 1, neck / 2, 2);
        float[] k = new float[neck * 2];
        for (int j = 0; j < neck / 2; j++) {
            float a = cw[2 * j], bb = cw[2 * j + 1];
            k[(2 * j) * 2] = a;
            k[(2 * j) * 2 + 1] = -bb;
            k[(2 * j + 1) * 2] = bb;
            k[(2 * j + 1) * 2 + 1] = a;
        }
        Value rot = g.conv2d(feat, s.derived("complex_as_conv", "complex weights as 2x2 blocks of a grouped 1x1 conv", k, neck, 2, 1, 1),
                null, new int[]{1, 1}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, neck / 2);
        int groups = grouped ? dim : neck;
        Value y = g.gelu(convNorm(s.scope("conv"), rot, neck, 3, 1, 1, 1, groups));
        y = se(s.scope("attn"), y, dim / 4);
        return conv1x1(s.scope("proj_out"), y, dim, scale);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.dims());
    }
}
