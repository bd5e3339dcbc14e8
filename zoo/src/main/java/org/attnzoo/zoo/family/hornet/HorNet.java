package org.attnzoo.zoo.family.hornet;

import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.RealDft2d;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * HorNet (Rao et al., NeurIPS 2022), as the authors' {@code hornet.py}: a ConvNeXt-style body
 * (4×4 stem, LayerNorm + 2×2 downsamplings, blocks of a spatial mixer and an MLP with layer
 * scales) whose spatial mixer is the recursive gated convolution g^nConv: a 1×1 projection split
 * into {@code p0} and the concatenated branches, a depthwise mixer on the branches scaled by
 * {@code s}, then {@code p_{k+1} = pw_k(p_k) · q_k} for each order, and a 1×1 output projection.
 *
 * <p>The depthwise mixer is a 7×7 depthwise conv, or in the GF variants a global-local filter:
 * LayerNorm, half the channels through a 3×3 depthwise conv, the other half through a global
 * filter {@code irfft2(W ⊙ rfft2(x))} (orthonormal), the halves interleaved channel by channel,
 * LayerNorm. The transforms are {@link RealDft2d}'s constant real DFT matrices; between them the
 * complex product with the learned weights (bilinearly resized, align_corners, when the spectrum
 * differs from their size, as upstream).
 *
 * <p>Build-time folding: {@code s} into the 7×7 kernel or the filter's output LayerNorm, the layer
 * scales into {@code proj_out} and {@code pwconv2}, residual-free otherwise.
 */
public final class HorNet extends FamilyArchitecture<HorNet.Config> {

    /**
     * Per stage: the g^nConv order, whether the mixer is a global-local filter and the filter
     * weights' size {@code (filterH, filterW)}; {@code scale} is the authors' {@code s}.
     */
    public record Config(int imgSize, int numClasses, int[] depths, int baseDim, int[] orders, double scale,
                         boolean[] globalFilter, int[] filterH, int[] filterW, boolean layerScale) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }

        /** The parameter count of the authors' module with this configuration, counted analytically. */
        public long parameterCount() {
            long n = 0;
            long[] d = {baseDim, 2L * baseDim, 4L * baseDim, 8L * baseDim};
            n += 3 * d[0] * 16 + d[0] + 2 * d[0];                                   // stem conv + LayerNorm
            for (int i = 1; i < 4; i++) n += 2 * d[i - 1] + d[i - 1] * d[i] * 4 + d[i];   // LayerNorm + 2x2 conv
            for (int i = 0; i < 4; i++) {
                long dim = d[i], sum = 0, pws = 0;
                long[] dims = new long[orders[i]];
                for (int j = 0; j < orders[i]; j++) {
                    dims[j] = dim >> (orders[i] - 1 - j);
                    sum += dims[j];
                }
                for (int j = 0; j < orders[i] - 1; j++) pws += dims[j] * dims[j + 1] + dims[j + 1];
                long mixer = globalFilter[i] ? (sum / 2) * 9 + (sum / 2) * filterH[i] * filterW[i] * 2 + 4 * sum : sum * 49 + sum;
                long gn = dim * 2 * dim + 2 * dim + mixer + pws + dim * dim + dim;
                long block = 2 * dim + gn + 2 * dim + dim * 4 * dim + 4 * dim + 4 * dim * dim + dim + (layerScale ? 2 * dim : 0);
                n += depths[i] * block;
            }
            return n + 2 * d[3] + d[3] * numClasses + numClasses;
        }
    }

    private static Config v(int img, int classes, int base, boolean gf, int h3, int w3, int h4, int w4) {
        return new Config(img, classes, new int[]{2, 3, 18, 2}, base, new int[]{2, 3, 4, 5}, 1.0 / 3.0,
                new boolean[]{false, false, gf, gf}, new int[]{0, 0, h3, h4}, new int[]{0, 0, w3, w4}, true);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        String[] sizes = {"tiny", "small", "base", "large"};
        int[] bases = {64, 96, 128, 192};
        for (int i = 0; i < 4; i++) {
            m.put("hornet_" + sizes[i] + "_7x7", v(224, 1000, bases[i], false, 0, 0, 0, 0));
            m.put("hornet_" + sizes[i] + "_gf", v(224, 1000, bases[i], true, 14, 8, 7, 4));
            if (i >= 2) m.put("hornet_" + sizes[i] + "_gf_img384", v(384, 1000, bases[i], true, 24, 13, 12, 7));
        }
        // the large models' released weights are ImageNet-22k classifiers
        m.put("hornet_large_7x7_in22k", v(224, 21841, 192, false, 0, 0, 0, 0));
        m.put("hornet_large_gf_in22k", v(224, 21841, 192, true, 14, 8, 7, 4));
        m.put("hornet_large_gf_img384_in22k", v(384, 21841, 192, true, 24, 13, 12, 7));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public HorNet(String name, Config cfg, Preprocessing pre) {
        super("hornet", name, cfg, pre);
    }

    /** The authors' eval transform: below 384 resize to 256/224 and centre crop; at 384 warp (squash) to 384×384. Bicubic. */
    public static HorNet variant(String name) {
        Config c = lookup(VARIANTS, "HorNet", name);
        Preprocessing p = c.imgSize() >= 384 ? Preprocessing.imagenet(c.imgSize(), 1.0, "bicubic").withCropMode(Preprocessing.SQUASH)
                : Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic");
        return new HorNet(name, c, p);
    }

    /**
     * The pooled, normed pre-logits vector and the four stage maps at strides 4, 8, 16, 32 as the
     * authors' detection/segmentation backbone ({@code object_detection/models/hornet.py}) returns
     * them: each stage's output through its own channels-first LayerNorm {@code norm<i>}.
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.baseDim(), 4, 4);
    }

    /**
     * Any square size of at least 32: the stem and downsamplings are unpadded strided convs (maps
     * floor(H/4), then halved with floor, as upstream) and the global filters are resized to the
     * spectrum they meet, as the authors' GlobalLocalFilter does.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "HorNet's configuration has one image size (square inputs only)", 1);
        if (height < 32) throw badSize(height, width, "the input must be at least 32x32 (a stride-4 stem and three 2x downsamplings)", 32);
        return new HorNet(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Taps taps = Taps.of(g);
        int b = cfg.baseDim();
        int[] dims = {b, 2 * b, 4 * b, 8 * b};
        Scope st = w.scope("downsample_layers.0");
        Value x = conv(st.scope("0"), image, dims[0], 4, 4);
        x = layerNormCf(st.scope("1"), x);
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                Scope d = w.scope("downsample_layers", i);
                x = conv(d.scope("1"), layerNormCf(d.scope("0"), x), dims[i], 2, 2);
            }
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope blk = w.scope("stages." + i, j);
                final Value in = x;
                final int si = i, dim = dims[i];
                x = g.named("stages." + i + "." + j, () -> block(blk, in, dim, si));
            }
            if (taps.wants(i)) taps.feature(i, outputNorm(w.scope("norm" + i), x));
        }
        int c = dims[3];
        Value pooled = g.reshape(g.globalAvgPool(x), -1, c);
        pooled = g.layerNorm(pooled, w.scope("norm").param("weight", c), w.scope("norm").param("bias", c), 1e-6f, -1);
        taps.embedding(pooled);                             // what the head reads: pooled, then the final norm
        Scope h = w.scope("head");
        return g.gemm(pooled, h.param("weight", cfg.numClasses(), c), h.param("bias", cfg.numClasses()), true);
    }

    /** A conv with bias, kernel = stride (no padding). */
    private static Value conv(Scope s, Value x, int out, int k, int stride) {
        int in = Math.toIntExact(x.dim(1));
        return s.graph().conv2d(x, s.param("weight", out, in, k, k), s.param("bias", out), new int[]{stride, stride},
                new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
    }

    /** The authors' channels_first LayerNorm (eps 1e-6) on NCHW; {@code scale} multiplies its affine (1 for none). */
    private static Value layerNormCf(Scope s, Value x, double scale) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        Value gamma, beta;
        if (scale == 1.0) {
            gamma = s.param("weight", c);
            beta = s.param("bias", c);
        } else {
            float[] wt = s.floats("weight", c).clone(), bs = s.floats("bias", c).clone();
            for (int i = 0; i < c; i++) {
                wt[i] = (float) (wt[i] * scale);
                bs[i] = (float) (bs[i] * scale);
            }
            gamma = s.derived("weight_scaled", "gnconv scale s folded in", wt, c);
            beta = s.derived("bias_scaled", null, bs, c);
        }
        Value y = g.layerNorm(g.transpose(x, 0, 2, 3, 1), gamma, beta, 1e-6f, -1);
        return g.transpose(y, 0, 3, 1, 2);
    }

    private static Value layerNormCf(Scope s, Value x) {
        return layerNormCf(s, x, 1.0);
    }

    /**
     * The authors' backbone's per-output {@code norm<i>} (channels-first LayerNorm, eps 1e-6): read
     * from the checkpoint where it holds one (a detection/segmentation checkpoint); a classification
     * checkpoint has none, and the backbone class then starts from PyTorch's initialisation (weight 1,
     * bias 0), which is what we build.
     */
    private static Value outputNorm(Scope s, Value x) {
        return LayerNorm.channelsFirstOrInitial(s, x, 1e-6f);
    }

    private Value block(Scope b, Value x, int dim, int stage) {
        Graph g = b.graph();
        float[] g1 = cfg.layerScale() ? b.floats("gamma1", dim) : null;
        float[] g2 = cfg.layerScale() ? b.floats("gamma2", dim) : null;
        x = g.add(x, gnconv(b.scope("gnconv"), layerNormCf(b.scope("norm1"), x), dim, stage, g1));
        // MLP on channels-last tokens
        Value t = g.transpose(x, 0, 2, 3, 1);
        t = g.layerNorm(t, b.scope("norm2").param("weight", dim), b.scope("norm2").param("bias", dim), 1e-6f, -1);
        t = g.gelu(linear(b.scope("pwconv1"), t, dim, 4 * dim, null));
        t = linear(b.scope("pwconv2"), t, 4 * dim, dim, g2);
        return g.add(x, g.transpose(t, 0, 3, 1, 2));
    }

    /** nn.Linear as MatMul + Add with the weight stored [in, out]; {@code colScale} folded into the outputs. */
    private static Value linear(Scope s, Value x, int in, int out, float[] colScale) {
        Graph g = s.graph();
        float[] w = s.floats("weight", out, in), bias = s.floats("bias", out);
        float[] wt = new float[in * out], bt = new float[out];
        for (int o = 0; o < out; o++) {
            float sc = colScale == null ? 1f : colScale[o];
            for (int i = 0; i < in; i++) wt[i * out + o] = w[o * in + i] * sc;
            bt[o] = bias[o] * sc;
        }
        String doc = "stored [in, out]" + (colScale != null ? "; layer scale folded in" : "");
        return g.add(g.matMul(x, s.derived("weight_t", doc, wt, in, out)), s.derived("bias_t", null, bt, out));
    }

    /** A 1×1 conv with bias, optionally with its output channels scaled. */
    private static Value conv1x1(Scope s, Value x, int out, float[] scale) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1));
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        if (scale == null) return g.conv2d(x, s.param("weight", out, in, 1, 1), s.param("bias", out), one, zero, one, 1);
        float[] w = s.floats("weight", out, in, 1, 1).clone(), b = s.floats("bias", out).clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) w[o * in + i] *= scale[o];
            b[o] *= scale[o];
        }
        return g.conv2d(x, s.derived("weight_scaled", "layer scale folded in", w, out, in, 1, 1), s.derived("bias_scaled", null, b, out),
                one, zero, one, 1);
    }

    /** g^nConv of the given order. */
    private Value gnconv(Scope s, Value x, int dim, int stage, float[] gamma) {
        Graph g = s.graph();
        int order = cfg.orders()[stage];
        if (dim % (1 << (order - 1)) != 0) throw new IllegalArgumentException("gnconv order " + order + " needs dim divisible by " + (1 << (order - 1)));
        long[] dims = new long[order];
        long sum = 0;
        for (int i = 0; i < order; i++) {
            dims[i] = dim >> (order - 1 - i);
            sum += dims[i];
        }
        Value fused = conv1x1(s.scope("proj_in"), x, 2 * dim, null);
        Value[] p = g.split(fused, 1, dims[0], sum);
        Value abc = cfg.globalFilter()[stage]
                ? globalLocalFilter(s.scope("dwconv"), p[1], cfg.filterH()[stage], cfg.filterW()[stage], cfg.scale())
                : depthwise7x7(s.scope("dwconv"), p[1], cfg.scale());
        Value[] q = g.split(abc, 1, dims);
        Value y = g.mul(p[0], q[0]);
        for (int i = 0; i < order - 1; i++) y = g.mul(conv1x1(s.scope("pws", i), y, (int) dims[i + 1], null), q[i + 1]);
        return conv1x1(s.scope("proj_out"), y, dim, gamma);
    }

    /** 7×7 depthwise conv with bias, times {@code s} (folded). */
    private static Value depthwise7x7(Scope s, Value x, double scale) {
        int c = Math.toIntExact(x.dim(1));
        float[] w = s.floats("weight", c, 1, 7, 7).clone(), b = s.floats("bias", c).clone();
        for (int i = 0; i < w.length; i++) w[i] = (float) (w[i] * scale);
        for (int i = 0; i < c; i++) b[i] = (float) (b[i] * scale);
        int[] one = {1, 1};
        return s.graph().conv2d(x, s.derived("weight_scaled", "gnconv scale s folded in", w, c, 1, 7, 7),
                s.derived("bias_scaled", null, b, c), one, new int[]{3, 3, 3, 3}, one, c);
    }

    /** GlobalLocalFilter times {@code s} (folded into the output LayerNorm). */
    private static Value globalLocalFilter(Scope s, Value x, int fh, int fw, double scale) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1)), half = c / 2;
        if (c % 2 != 0) throw new IllegalArgumentException("global-local filter needs an even channel count, got " + c);
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3)), k = w / 2 + 1;
        Value n = layerNormCf(s.scope("pre_norm"), x);
        Value[] parts = g.split(n, 1, half, half);
        int[] one = {1, 1};
        Value local = g.conv2d(parts[0], s.scope("dw").param("weight", half, 1, 3, 3), null, one, new int[]{1, 1, 1, 1}, one, half);

        // filter weights [half, fh, fw, 2] resized to the spectrum [h, k] if needed (bilinear, align_corners)
        float[] cw = s.floats("complex_weight", half, fh, fw, 2);
        float[] wr = new float[half * h * k], wi = new float[half * h * k];
        double[][] ry = alignCorners(fh, h), rx = alignCorners(fw, k);
        for (int ch = 0; ch < half; ch++)
            for (int y = 0; y < h; y++)
                for (int x2 = 0; x2 < k; x2++) {
                    double re = 0, im = 0;
                    for (int a = 0; a < fh; a++) {
                        if (ry[y][a] == 0) continue;
                        for (int bb = 0; bb < fw; bb++) {
                            double f = ry[y][a] * rx[x2][bb];
                            if (f == 0) continue;
                            int base = ((ch * fh + a) * fw + bb) * 2;
                            re += f * cw[base];
                            im += f * cw[base + 1];
                        }
                    }
                    wr[(ch * h + y) * k + x2] = (float) re;
                    wi[(ch * h + y) * k + x2] = (float) im;
                }

        RealDft2d d = new RealDft2d(h, w);
        Value[] y = d.forward(g, parts[1]);                                        // [B, half, h, k] each
        Value wre = s.derived("filter_re", "complex_weight real part on the spectrum grid", wr, half, h, k);
        Value wim = s.derived("filter_im", "complex_weight imaginary part on the spectrum grid", wi, half, h, k);
        Value zr = g.sub(g.mul(y[0], wre), g.mul(y[1], wim));
        Value zi = g.add(g.mul(y[0], wim), g.mul(y[1], wre));
        Value global = d.inverse(g, zr, zi);                                       // [B, half, h, w]
        Value mixed = g.reshape(g.concat(2, g.unsqueeze(local, 2), g.unsqueeze(global, 2)), -1, c, h, w);
        return layerNormCf(s.scope("post_norm"), mixed, scale);
    }

    /** Bilinear (align_corners=True) weights from {@code in} samples to {@code out}: {@code [out][in]}. */
    static double[][] alignCorners(int in, int out) {
        double[][] r = new double[out][in];
        for (int o = 0; o < out; o++) {
            double src = out == 1 ? 0 : (double) o * (in - 1) / (out - 1);
            int i0 = Math.min((int) Math.floor(src), in - 1), i1 = Math.min(i0 + 1, in - 1);
            double l1 = src - i0;
            r[o][i0] += 1 - l1;
            r[o][i1] += l1;
        }
        return r;
    }

    @Override
    public String toString() {
        return name + " base " + cfg.baseDim() + (cfg.globalFilter()[3] ? " GF" : " 7x7");
    }
}
