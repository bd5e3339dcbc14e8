package org.attnzoo.zoo.family.attnet;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Resampling;
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
 * AttNet (Yu et al., "Attentive Convolution", 2025), as the authors' {@code models/AttNet.py}: a
 * two-conv stem and stride-2 Conv-BN downsamplings around four stages of pre-norm blocks, each an
 * ATConv token mixer and a GLU channel mixer (optionally with a depthwise conv and an RMS norm),
 * with optional layer scales; mean pool, LayerNorm, Linear.
 *
 * <p><b>ATConv</b> generates a k×k depthwise kernel per sample and channel: a 1×1 projection,
 * adaptive average pooling of the flattened map to k² values, GELU, a k²→k² Linear, minus
 * {@code sigmoid(difference_control)} times the kernel's mean; the 1×1-projected input is then
 * convolved with its own kernels and projected again. The per-sample kernels make it data
 * dependent, so in the graph the k² shifted copies of the input come from one depthwise Conv with
 * one-hot kernels (exact copies, not counted as multiply-adds), and a Mul with the kernels and a
 * ReduceSum over the taps do the convolution. Pooling commutes with the 1×1 projection, so the
 * graph pools first (a constant {@code [H·W, k²]} matrix) and projects the k² pooled values.
 * BatchNorms fold into their convolutions.
 */
public final class AttNet extends FamilyArchitecture<AttNet.Config> {

    /** The authors' AttNet constructor arguments. */
    public record Config(int imgSize, int numClasses, int[] depths, int[] dims, double[] expRates, int[] kernelSizes,
                         boolean useLayerScale, boolean[] gluDconv, boolean[] gluNorm) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    private static Config v(int[] depths, int[] dims, boolean ls, boolean gluNorm) {
        boolean[] n = {gluNorm, gluNorm, gluNorm, gluNorm};
        return new Config(224, 1000, depths, dims, new double[]{8, 8, 4, 4}, new int[]{3, 3, 3, 3}, ls,
                new boolean[]{true, true, true, true}, n);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("AttNet_XXS", v(new int[]{2, 2, 4, 2}, new int[]{32, 64, 128, 240}, false, false));
        m.put("AttNet_XS", v(new int[]{2, 2, 7, 2}, new int[]{40, 80, 160, 320}, true, false));
        m.put("AttNet_S", v(new int[]{2, 3, 10, 3}, new int[]{40, 80, 160, 320}, false, false));
        m.put("AttNet_T1", v(new int[]{2, 3, 12, 3}, new int[]{48, 96, 224, 384}, true, true));
        m.put("AttNet_T2", v(new int[]{3, 3, 16, 3}, new int[]{64, 128, 288, 512}, true, true));
        m.put("AttNet_T3", v(new int[]{4, 4, 26, 4}, new int[]{72, 144, 320, 576}, true, true));
        m.put("AttNet_T4", v(new int[]{5, 5, 28, 5}, new int[]{96, 192, 384, 768}, true, true));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public AttNet(String name, Config cfg, Preprocessing pre) {
        super("attnet", name, cfg, pre);
    }

    /** The authors' default_cfg: 224, crop 224/256, bicubic, ImageNet mean/std. */
    public static AttNet variant(String name) {
        Config c = lookup(VARIANTS, "AttNet", name);
        return new AttNet(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    /**
     * The pre-logits vector (mean pool and the final LayerNorm, what {@code head} reads) and the
     * four stage outputs at strides 4, 8, 16, 32. The authors' repository has no detection or
     * segmentation backbone class, so each feature map is its stage's output (after the stage's
     * downsampling and blocks), as timm's features_only takes them. Each stride-2 conv rounds odd
     * sizes up, so maps are ⌈H/r⌉.
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.dims(), 4);
    }

    /**
     * Any square size: every layer is a convolution or follows the map size (ATConv pools each
     * map to k² values whatever its size); stride-2 convs round odd sizes up.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "AttNet's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new AttNet(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }


    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] dims = cfg.dims();
        Scope d0 = w.scope("downsample_layers.0");
        Value x = g.gelu(convBn(d0.scope("0"), image, dims[0] / 2));
        x = convBn(d0.scope("2"), x, dims[0]);
        Taps taps = Taps.of(g);
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) x = convBn(w.scope("downsample_layers", i), x, dims[i]);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = w.scope("stages." + i, j);
                final Value in = x;
                final int si = i;
                x = g.named("stages." + i + "." + j, () -> block(b, in, si));
            }
            taps.feature(i, x);                                 // stage i's output (no backbone class upstream)
        }
        int c = dims[dims.length - 1];
        Value pooled = g.reshape(g.globalAvgPool(x), -1, c);
        pooled = LayerNorm.apply(w.scope("norm"), pooled, c, 1e-5f);
        taps.embedding(pooled);                                 // forward_features: what head reads
        Scope head = w.scope("head");
        return g.gemm(pooled, head.param("weight", cfg.numClasses(), c), head.param("bias", cfg.numClasses()), true);
    }

    /** ConvBN: conv 3×3 stride 2 padding 1 (no bias) with its BatchNorm folded in. */
    private static Value convBn(Scope s, Value x, int out) {
        return BatchNorm.convFolded(s.scope("0"), s.scope("1"), x, out, 3, 2, 1, false, BatchNorm.DEFAULT_EPS);
    }

    private static Value conv1x1(Scope s, Value x, int out) {
        int in = Math.toIntExact(x.dim(1));
        int[] one = {1, 1};
        return s.graph().conv2d(x, s.param("weight", out, in, 1, 1), s.param("bias", out), one, new int[]{0, 0, 0, 0}, one, 1);
    }

    /** timm's LayerNorm2d: LayerNorm over channels of an NCHW map. */
    private static Value layerNorm2d(Scope s, Value x) {
        return LayerNorm.channelsFirst(s, x, 1e-6f);
    }

    private static Value layerScale(Scope s, Value x, int c) {
        return s.graph().mul(x, s.derived("gamma_c", "gamma as [1, C, 1, 1]", s.floats("gamma", c), 1, c, 1, 1));
    }

    private Value block(Scope b, Value x, int i) {
        Graph g = b.graph();
        int dim = cfg.dims()[i];
        Value t = atConv(b.scope("token_mixer"), layerNorm2d(b.scope("norm_1"), x), dim, cfg.kernelSizes()[i]);
        if (cfg.useLayerScale()) t = layerScale(b.scope("layer_scale_1"), t, dim);
        x = g.add(x, t);
        int hidden = (int) (dim * cfg.expRates()[i]);
        int glu = (int) (2.0 * hidden / 3);
        Value c = glu(b.scope("channel_mixer"), layerNorm2d(b.scope("norm_2"), x), dim, glu, cfg.gluDconv()[i], cfg.gluNorm()[i]);
        if (cfg.useLayerScale()) c = layerScale(b.scope("layer_scale_2"), c, dim);
        return g.add(x, c);
    }

    private static Value glu(Scope s, Value x, int dim, int hid, boolean dconv, boolean norm) {
        Graph g = s.graph();
        Value[] p = g.split(conv1x1(s.scope("fc1"), x, 2 * hid), 1, hid, hid);
        Value a = p[0];
        if (dconv) {
            Scope dw = s.scope("dwconv");
            a = g.conv2d(a, dw.param("weight", hid, 1, 3, 3), dw.param("bias", hid), new int[]{1, 1}, new int[]{1, 1, 1, 1},
                    new int[]{1, 1}, hid);
        }
        Value y = g.mul(g.gelu(a), p[1]);
        if (norm) {   // timm RmsNorm2d: x / sqrt(mean_C(x²) + 1e-6) * weight
            long[] per = {y.dim(0), 1, y.dim(2), y.dim(3)};
            Value ms = g.op1("ReduceMean", new Value[]{g.mul(y, y)}, y.dtype(), per, Attr.ints("axes", 1), Attr.i("keepdims", 1));
            Value inv = g.op1("Reciprocal", new Value[]{g.sqrt(g.add(ms, 1e-6f))}, y.dtype(), per);
            Scope nl = s.scope("norm_layer");
            y = g.mul(g.mul(y, inv), nl.derived("weight_c", "weight as [1, C, 1, 1]", nl.floats("weight", hid), 1, hid, 1, 1));
        }
        return conv1x1(s.scope("fc2"), y, dim);
    }

    /** ATConv: per-sample, per-channel k×k kernels from the pooled map, applied as a depthwise conv. */
    private static Value atConv(Scope s, Value x, int c, int k) {
        Graph g = s.graph();
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3)), n = h * w, kk = k * k;
        // kernels: AdaptiveAvgPool1d(k²) over the flattened map, then kernel_proj (1x1, it commutes with the pooling)
        Value pooled = g.matMul(g.reshape(x, -1, c, n), g.constant("atconv_pool", Resampling.adaptiveAvgPool(1, n, 1, kk), n, kk));
        Scope kp = s.scope("kernel_proj");
        float[] kw = kp.floats("weight", c, c, 1, 1);
        Value kern = g.add(g.matMul(kp.derived("weight_2d", "1x1 conv weight as [out, in]", kw, c, c), pooled),
                kp.derived("bias_c", "bias as [C, 1]", kp.floats("bias", c), c, 1));                     // [B, C, k²]
        Scope kg = s.scope("kernel_gen");
        float[] gw = kg.floats("weight", kk, kk), gt = new float[kk * kk];
        for (int o = 0; o < kk; o++) for (int i = 0; i < kk; i++) gt[i * kk + o] = gw[o * kk + i];
        kern = g.add(g.matMul(g.gelu(kern), kg.derived("weight_t", "[in, out]", gt, kk, kk)), kg.param("bias", kk));
        // minus sigmoid(difference_control) times the kernel mean
        float[] dc = s.floats("difference_control", c), f = new float[c];
        for (int i = 0; i < c; i++) f[i] = (float) (1.0 / (1.0 + Math.exp(-dc[i])));
        long[] per = {kern.dim(0), c, 1};
        Value mean = g.op1("ReduceMean", new Value[]{kern}, kern.dtype(), per, Attr.ints("axes", 2), Attr.i("keepdims", 1));
        kern = g.sub(kern, g.mul(mean, s.derived("difference_factor", "sigmoid(difference_control) as [C, 1]", f, c, 1)));

        // the per-sample depthwise conv on x_proj(x): k² shifted copies (one-hot depthwise conv), Mul, ReduceSum
        Value xp = conv1x1(s.scope("x_proj"), x, c);
        float[] onehot = new float[c * kk * kk];
        for (int ch = 0; ch < c; ch++) for (int t = 0; t < kk; t++) onehot[(ch * kk + t) * kk + t] = 1f;
        int p = k / 2;
        Value shifts = g.op1("Conv", new Value[]{xp, g.constant("atconv_taps", onehot, (long) c * kk, 1, k, k)}, xp.dtype(),
                new long[]{xp.dim(0), (long) c * kk, h, w}, Attr.ints("kernel_shape", k, k), Attr.ints("pads", p, p, p, p),
                Attr.i("group", c));
        Value prod = g.mul(g.reshape(shifts, -1, c, kk, n), g.unsqueeze(kern, 3));
        Value y = g.op1("ReduceSum", new Value[]{prod, g.ints(2)}, prod.dtype(), new long[]{prod.dim(0), c, n}, Attr.i("keepdims", 0));
        return conv1x1(s.scope("proj"), g.reshape(y, -1, c, h, w), c);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.dims());
    }
}
