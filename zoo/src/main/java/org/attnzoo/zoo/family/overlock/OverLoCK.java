package org.attnzoo.zoo.family.overlock;

import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Resampling;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.ops.NeighborhoodAttention;
import org.attnzoo.sdk.ops.NeighborhoodWindows;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * OverLoCK (Lou &amp; Yu, CVPR 2025), as the authors' {@code models/overlock.py}: an
 * "overview" base network (stem, RepConv blocks in four stages) whose last stage produces a
 * context map, and a "look closely" network of dynamic-convolution blocks in stages 3 and 4 that
 * carry the context along as extra channels. Each dynamic block fuses features and context, then
 * mixes tokens with two neighbourhood aggregations (kernels {@code smk} and {@code k}) whose
 * per-pixel weights come from queries against 7×7-pooled context keys (plus relative position
 * biases and softmax), a large-kernel LePE, SE and a SiLU gate, and a GRN MLP.
 *
 * <p>The neighbourhood aggregation is NATTEN's {@code na2d_av} (windows shifted inward at the
 * borders): a {@code NeighborhoodAttentionAV2D} node of the neighbourhood domain (its function
 * body gathers per-head value rows and does a batched {@code [1, k²] × [k², c]} MatMul per query;
 * a native kernel can replace it). The relative position
 * biases become {@code [heads, N, k²]} constants through the same tables.
 *
 * <p>Build-time folding (exact up to float rounding): every BatchNorm into its neighbouring
 * convolution; each DilatedReparamBlock (a large depthwise kernel plus dilated small kernels, with
 * BatchNorms — or its re-parameterised single kernel) into one depthwise conv, as the authors'
 * {@code merge_dilated_branches}; residual depthwise convs' identities into their centre taps;
 * the query scale into the query projection; the 49→k² weight projection into the pooled keys
 * ({@code q·(K Wᵀ)} instead of {@code (q·K) Wᵀ}). Bilinear resizing and adaptive pooling (the
 * upstream path for maps smaller than a kernel, the context upsampling, the 7×7 key pooling) are
 * constant matrices ({@link Resampling}). The auxiliary head only runs in training: its weights
 * are checked and counted but not emitted.
 */
public final class OverLoCK extends FamilyArchitecture<OverLoCK.Config> {

    /** The authors' OverLoCK constructor arguments; {@code lsInit[i]}: stage i has layer scales. */
    public record Config(int imgSize, int inChans, int numClasses, int[] depth, int[] subDepth, int[] embedDim,
                         int[] kernelSize, double[] mlpRatio, double[] subMlpRatio, int[] subNumHeads, int smkSize,
                         boolean deploy, int projection, boolean[] lsInit) implements ImageConfig {
    }

    private static Config v(int[] depth, int[] sub, int[] dims, int[] heads, boolean deploy) {
        return new Config(224, 3, 1000, depth, sub, dims, new int[]{17, 15, 13, 7}, new double[]{4, 4, 4, 4},
                new double[]{3, 3}, heads, 5, deploy, 1024, new boolean[]{false, false, true, true});
    }

    public static final Map<String, Config> VARIANTS;
    private static final Map<String, Double> CROP = new LinkedHashMap<>();

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        for (boolean deploy : new boolean[]{false, true}) {
            String sfx = deploy ? "_reparam" : "";
            m.put("overlock_xt" + sfx, v(new int[]{2, 2, 3, 2}, new int[]{6, 2}, new int[]{56, 112, 256, 336}, new int[]{4, 6}, deploy));
            m.put("overlock_t" + sfx, v(new int[]{4, 4, 6, 2}, new int[]{12, 2}, new int[]{64, 128, 256, 512}, new int[]{4, 8}, deploy));
            m.put("overlock_s" + sfx, v(new int[]{6, 6, 8, 3}, new int[]{16, 3}, new int[]{64, 128, 320, 512}, new int[]{8, 16}, deploy));
            m.put("overlock_b" + sfx, v(new int[]{8, 8, 10, 4}, new int[]{20, 4}, new int[]{80, 160, 384, 576}, new int[]{6, 9}, deploy));
            CROP.put("overlock_xt" + sfx, 0.925);
            CROP.put("overlock_t" + sfx, 0.95);
            CROP.put("overlock_s" + sfx, 0.95);
            CROP.put("overlock_b" + sfx, 0.975);
        }
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public OverLoCK(String name, Config cfg, Preprocessing pre) {
        super("overlock", name, cfg, pre);
    }

    /** The authors' default_cfg: bicubic, ImageNet mean/std, crop 0.925 (xt), 0.95 (t, s), 0.975 (b). */
    public static OverLoCK variant(String name) {
        Config c = lookup(VARIANTS, "OverLoCK", name);
        return new OverLoCK(name, c, Preprocessing.imagenet(c.imgSize(), CROP.get(name), "bicubic"));
    }

    // ------------------------------------------------------------------ forward

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] e = cfg.embedDim();
        Scope st = w.scope("patch_embed1");
        Value x = g.gelu(convBn(st.scope("0"), st.scope("1"), image, e[0] / 2, 3, 2, 1, false));
        x = g.gelu(convBn(st.scope("3"), st.scope("4"), x, e[0] / 2, 3, 1, 1, false));
        x = g.gelu(convBn(st.scope("6"), st.scope("7"), x, e[0], 3, 2, 1, false));
        x = convBn(st.scope("9"), st.scope("10"), x, e[0], 3, 1, 1, false);
        // Feature maps as the authors' dense-prediction backbones (segmentation/models/overlock.py and
        // detection/models/overlock.py OverLoCK): stage 1 and 2 outputs, the stage-3 map concatenated
        // with its context after sub_blocks3, the final map before the head, each through its own
        // LayerNorm2d extra_norm.{i} (see extraNorm).
        Taps taps = Taps.of(g);
        x = repStage(w, x, 0);
        final Value s1 = x;
        taps.feature(0, () -> extraNorm(w, 0, s1));
        x = repStage(w, downsample(w.scope("patch_embed2"), x, e[1]), 1);
        if (taps.wants(1) || taps.wants(2) || taps.wants(3)) {
            // Those backbones feed stage 3 the normalised stage-2 map (forward_base_features(x1) with
            // x1 = extra_norm[1](stage 2)), unlike the classifier: a feature build does the same.
            x = extraNorm(w, 1, x);
            taps.feature(1, x);
        }
        x = repStage(w, downsample(w.scope("patch_embed3"), x, e[2]), 2);
        Value ctx = repStage(w, downsample(w.scope("patch_embed4"), x, e[3]), 3);

        // look closely: context from the last stage, projected and upsampled to stage 3
        int ctxDim = e[3] / 4;
        Scope hp = w.scope("high_level_proj");
        Value ctxOri = g.conv2d(ctx, hp.param("weight", ctxDim, e[3], 1, 1), hp.param("bias", ctxDim), new int[]{1, 1},
                new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        Value ctxUp = resize(g, ctxOri, Math.toIntExact(x.dim(2)), Math.toIntExact(x.dim(3)), "bilinear", "ctx_upsample");
        Value h = ctxUp;
        for (int j = 0; j < cfg.subDepth()[0]; j++) {
            Scope b = w.scope("sub_blocks3", j);
            Value[] out = dynamicBlock(b, x, h, ctxUp, e[2], cfg.kernelSize()[2], cfg.subNumHeads()[0], cfg.subMlpRatio()[0],
                    cfg.lsInit()[2], j == 0, false);
            x = out[0];
            h = out[1];
        }
        final Value s3x = x, s3h = h;
        taps.feature(2, () -> extraNorm(w, 2, g.concat(1, s3x, s3h)));
        Scope px = w.scope("patch_embedx");
        x = convBn(px.scope("x_proj.0"), px.scope("x_proj.1"), x, e[3], 3, 2, 1, false);
        h = convBn(px.scope("h_proj.0"), px.scope("h_proj.1"), h, ctxDim, 3, 2, 1, false);
        for (int j = 0; j < cfg.subDepth()[1]; j++) {
            Scope b = w.scope("sub_blocks4", j);
            Value[] out = dynamicBlock(b, x, h, ctxOri, e[3], cfg.kernelSize()[3], cfg.subNumHeads()[1], cfg.subMlpRatio()[1],
                    cfg.lsInit()[3], false, j == cfg.subDepth()[1] - 1);
            x = out[0];
            h = out[1];
        }
        final Value s4 = x, ctxCls = ctx;
        taps.feature(3, () -> {
            Value f = extraNorm(w, 3, s4);
            // The detection class adds h_proj(extra_norm.4(stage-4 context)), a 1x1 conv and LayerScale
            // that exist only in its checkpoints: built when the checkpoint has them; without them
            // the map is the segmentation class's.
            Scope hp2 = w.scope("h_proj");
            if (!hp2.scope("0").has("weight")) return f;
            int fusion = e[3] + ctxDim;
            Value c = conv(hp2.scope("0"), extraNorm(w, 4, ctxCls), fusion, 1, 1);
            return g.add(f, layerScale(hp2.scope("1"), c));
        });
        checkAuxHead(w.scope("aux_head"), e[3]);
        return head(w.scope("head"), x, e[3] + ctxDim);
    }

    /**
     * The backbones' per-output LayerNorm2d {@code extra_norm.{i}} (eps 1e-6): from the checkpoint
     * where it holds one (a detection / segmentation checkpoint); otherwise the LayerNorm PyTorch
     * initialises (weight 1, bias 0), as the authors' backbone has on an ImageNet checkpoint before
     * dense-prediction training (it loads that checkpoint non-strictly).
     */
    private static Value extraNorm(Scope w, int i, Value x) {
        return LayerNorm.channelsFirstOrInitial(w.scope("extra_norm", i), x, 1e-6f);
    }

    /**
     * The pre-logits vector (the head's 1x1 projection, BatchNorm, SiLU and global pooling: what its
     * final 1x1 classifier reads) and the four dense-prediction outputs at strides 4, 8, 16, 32
     * (stage 3 and 4 maps carry the e[3]/4 context channels).
     */
    @Override
    public Backbone backbone() {
        int[] e = cfg.embedDim();
        int ctx = e[3] / 4;
        return Backbone.of(cfg.projection(), new int[]{e[0], e[1], e[2] + ctx, e[3] + ctx}, new int[]{4, 8, 16, 32});
    }

    /**
     * Any square size from 32: convolutions (padded, sides round up), bilinear context upsampling,
     * 7x7 adaptive key pooling and the neighbourhood windows (maps smaller than a kernel take the
     * authors' bilinear-up / pool-down path) all follow the input; no weight depends on it.
     */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "OverLoCK's configuration has one image size (square inputs only)", 1);
        if (height < 32) throw badSize(height, width, "the input must be at least 32x32 (five stride-2 stages)", 32);
        return new OverLoCK(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    private Value repStage(Scope w, Value x, int i) {
        for (int j = 0; j < cfg.depth()[i]; j++) {
            Scope b = w.scope("blocks" + (i + 1), j);
            final Value in = x;
            final int si = i;
            x = w.graph().named("blocks" + (i + 1) + "." + j, () -> repConvBlock(b, in, si));
        }
        return x;
    }

    private static Value downsample(Scope s, Value x, int out) {
        return convBn(s.scope("0"), s.scope("1"), x, out, 3, 2, 1, false);
    }

    // ------------------------------------------------------------------ layers

    /** {@code bn(conv(x))} as one convolution (padding {@code k/2}). */
    static Value convBn(Scope conv, Scope bn, Value x, int out, int k, int stride, int groups, boolean convBias) {
        int in = Math.toIntExact(x.dim(1));
        float[] w = conv.floats("weight", out, in / groups, k, k);
        float[] b = convBias ? conv.floats("bias", out) : null;
        BatchNorm.Folded f = BatchNorm.fold(w, b, BatchNorm.affine(bn, out, BatchNorm.DEFAULT_EPS));
        return emitConv(conv, x, f.weight(), f.bias(), out, in / groups, k, stride, groups, "BatchNorm folded in");
    }

    static Value emitConv(Scope s, Value x, float[] w, float[] b, int out, int inPerGroup, int k, int stride, int groups, String doc) {
        Graph g = s.graph();
        Value wv = s.derived("weight_folded", doc, w, out, inPerGroup, k, k);
        Value bv = b == null ? null : s.derived("bias_folded", null, b, out);
        int p = k / 2;
        return g.conv2d(x, wv, bv, new int[]{stride, stride}, new int[]{p, p, p, p}, new int[]{1, 1}, groups);
    }

    /** A plain conv with bias under its own names. */
    static Value conv(Scope s, Value x, int out, int k, int groups) {
        int in = Math.toIntExact(x.dim(1));
        int p = k / 2;
        return s.graph().conv2d(x, s.param("weight", out, in / groups, k, k), s.param("bias", out), new int[]{1, 1},
                new int[]{p, p, p, p}, new int[]{1, 1}, groups);
    }

    /** ResDWConv: {@code x + dwconv3x3(x)} as one depthwise conv (identity on the centre tap). */
    static Value resDw(Scope s, Value x) {
        int c = Math.toIntExact(x.dim(1));
        float[] w = s.floats("weight", c, 1, 3, 3).clone();
        for (int o = 0; o < c; o++) w[o * 9 + 4] += 1f;
        return emitConv(s, x, w, s.floats("bias", c), c, 1, 3, 1, c, "identity added to the centre tap");
    }

    /** LayerScale: a per-channel affine (a depthwise 1×1 conv upstream). */
    static Value layerScale(Scope s, Value x) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        Value w = s.derived("weight_c", "LayerScale weight as [1, C, 1, 1]", s.floats("weight", c, 1, 1, 1), 1, c, 1, 1);
        return g.add(g.mul(x, w), s.derived("bias_c", null, s.floats("bias", c), 1, c, 1, 1));
    }

    /** LayerNorm over channels of an NCHW map (eps 1e-6). */
    static Value layerNorm2d(Scope s, Value x) {
        return LayerNorm.channelsFirst(s, x, 1e-6f);
    }

    /** GRN: {@code (γ·N(x) + 1)·x + β} with {@code N = ‖x‖₂(H,W) / (mean_C ‖x‖₂ + 1e-6)}. */
    static Value grn(Scope s, Value x) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        long[] per = {x.dim(0), c, 1, 1};
        Value gx = g.op1("ReduceL2", new Value[]{x}, x.dtype(), per, Attr.ints("axes", 2, 3), Attr.i("keepdims", 1));
        Value mean = g.op1("ReduceMean", new Value[]{gx}, x.dtype(), new long[]{x.dim(0), 1, 1, 1}, Attr.ints("axes", 1), Attr.i("keepdims", 1));
        Value nx = g.div(gx, g.add(mean, 1e-6f));
        Value scale = g.add(g.mul(nx, s.param("gamma", 1, c, 1, 1)), 1f);
        return g.add(g.mul(scale, x), s.param("beta", 1, c, 1, 1));
    }

    /** SEModule: avg pool → 1×1 → GELU → 1×1 → sigmoid gate; inner width max(16, dim/8). */
    static Value se(Scope s, Value x) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1)), inner = Math.max(16, c / 8);
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value p = g.globalAvgPool(x);
        Value a = g.gelu(g.conv2d(p, s.scope("proj.1").param("weight", inner, c, 1, 1), s.scope("proj.1").param("bias", inner), one, zero, one, 1));
        Value z = g.conv2d(a, s.scope("proj.3").param("weight", c, inner, 1, 1), s.scope("proj.3").param("bias", c), one, zero, one, 1);
        return g.mul(x, g.sigmoid(z));
    }

    /** UniRepLKNet's branch table of a DilatedReparamBlock: kernel sizes and dilations per large kernel. */
    static int[][] dilatedBranches(int k) {
        return switch (k) {
            case 19 -> new int[][]{{5, 7, 9, 9, 3, 3, 3}, {1, 1, 1, 2, 4, 5, 7}};
            case 17 -> new int[][]{{5, 7, 9, 3, 3, 3}, {1, 1, 2, 4, 5, 7}};
            case 15 -> new int[][]{{5, 7, 7, 3, 3, 3}, {1, 1, 2, 3, 5, 7}};
            case 13 -> new int[][]{{5, 7, 7, 3, 3, 3}, {1, 1, 2, 3, 4, 5}};
            case 11 -> new int[][]{{5, 7, 5, 3, 3, 3}, {1, 1, 2, 3, 4, 5}};
            case 9 -> new int[][]{{5, 7, 5, 3, 3}, {1, 1, 2, 3, 4}};
            case 7 -> new int[][]{{5, 3, 3, 3}, {1, 1, 2, 3}};
            case 5 -> new int[][]{{3, 3}, {1, 2}};
            default -> throw new IllegalArgumentException("DilatedReparamBlock needs a kernel size in 5..19 (odd), got " + k);
        };
    }

    /**
     * A DilatedReparamBlock followed by {@code bn} as one depthwise k×k conv: the large kernel and
     * every dilated branch (each with its BatchNorm) merged as the authors' merge_dilated_branches,
     * or the deployed kernel and bias, then the trailing BatchNorm folded in.
     */
    Value dilatedReparam(Scope s, Scope bn, Value x, int k) {
        int c = Math.toIntExact(x.dim(1));
        float[] kernel;
        double[] bias = new double[c];
        if (cfg.deploy()) {
            kernel = s.scope("lk_origin").floats("weight", c, 1, k, k).clone();
            float[] b = s.scope("lk_origin").floats("bias", c);
            for (int o = 0; o < c; o++) bias[o] = b[o];
        } else {
            BatchNorm.Folded o = BatchNorm.fold(s.scope("lk_origin").floats("weight", c, 1, k, k), null,
                    BatchNorm.affine(s.scope("origin_bn"), c, BatchNorm.DEFAULT_EPS));
            kernel = o.weight().clone();
            for (int ch = 0; ch < c; ch++) bias[ch] = o.bias()[ch];
            int[][] br = dilatedBranches(k);
            for (int i = 0; i < br[0].length; i++) {
                int bk = br[0][i], r = br[1][i];
                String tag = bk + "_" + r;
                BatchNorm.Folded f = BatchNorm.fold(s.scope("dil_conv_k" + tag).floats("weight", c, 1, bk, bk), null,
                        BatchNorm.affine(s.scope("dil_bn_k" + tag), c, BatchNorm.DEFAULT_EPS));
                int eq = r * (bk - 1) + 1, off = k / 2 - eq / 2;
                for (int ch = 0; ch < c; ch++) {
                    for (int u = 0; u < bk; u++)
                        for (int v = 0; v < bk; v++)
                            kernel[ch * k * k + (off + u * r) * k + off + v * r] += f.weight()[(ch * bk + u) * bk + v];
                    bias[ch] += f.bias()[ch];
                }
            }
        }
        double[][] a = BatchNorm.affine(bn, c, BatchNorm.DEFAULT_EPS);
        float[] w = new float[kernel.length], b = new float[c];
        for (int ch = 0; ch < c; ch++) {
            for (int j = 0; j < k * k; j++) w[ch * k * k + j] = (float) (kernel[ch * k * k + j] * a[0][ch]);
            b[ch] = (float) (bias[ch] * a[0][ch] + a[1][ch]);
        }
        return emitConv(s, x, w, b, c, 1, k, 1, c, "dilated branches merged, BatchNorms folded");
    }

    private Value repConvBlock(Scope b, Value x, int stage) {
        Graph g = b.graph();
        int dim = cfg.embedDim()[stage], mlp = (int) (dim * cfg.mlpRatio()[stage]);
        x = resDw(b.scope("dwconv"), x);
        Scope p = b.scope("proj");
        Value y = layerNorm2d(p.scope("0"), x);
        y = dilatedReparam(p.scope("1"), p.scope("2"), y, cfg.kernelSize()[stage]);
        y = se(p.scope("3"), y);
        y = g.gelu(conv(p.scope("4"), y, mlp, 1, 1));
        y = grn(p.scope("7"), resDw(p.scope("6"), y));
        y = conv(p.scope("8"), y, dim, 1, 1);
        Value res = cfg.lsInit()[stage] ? layerScale(b.scope("ls"), x) : x;
        return g.add(res, y);
    }

    /** Resizes an NCHW map to {@code h×w}: "bilinear" (align_corners False) or "adaptive" average pooling. */
    static Value resize(Graph g, Value x, int h, int w, String mode, String name) {
        int ih = Math.toIntExact(x.dim(2)), iw = Math.toIntExact(x.dim(3));
        if (ih == h && iw == w) return x;
        float[] m = mode.equals("bilinear") ? Resampling.bilinear(ih, iw, h, w) : Resampling.adaptiveAvgPool(ih, iw, h, w);
        Value flat = g.reshape(x, -1, x.dim(1), (long) ih * iw);
        Value y = g.matMul(flat, g.constant(name, m, (long) ih * iw, (long) h * w));
        return g.reshape(y, -1, x.dim(1), h, w);
    }

    /** The context-mixing dynamic block; returns {@code [x, context]} (context null after the last block). */
    private Value[] dynamicBlock(Scope b, Value x, Value hx, Value hr, int dim, int k, int numHeads, double mlpRatio,
                                 boolean ls, boolean first, boolean last) {
        Graph g = b.graph();
        return g.named(b.prefix().replaceAll("\\.$", ""), () -> {
            int ctx = Math.toIntExact(hx.dim(1)), out = dim + ctx, mlp = (int) (dim * mlpRatio);
            int heads = numHeads * 2, smk = cfg.smkSize();
            int h0 = Math.toIntExact(x.dim(2)), w0 = Math.toIntExact(x.dim(3));
            Value hxm = first ? hx : g.add(layerScale(b.scope("x_scale"), hx), layerScale(b.scope("h_scale"), hr));
            Value xf = resDw(b.scope("dwconv1"), g.concat(1, x, hxm));
            Value identity = xf;
            xf = layerNorm2d(b.scope("norm1"), xf);
            Scope fu = b.scope("fusion");
            Value xx = g.gelu(convBn(fu.scope("0"), fu.scope("1"), xf, out, 3, 1, out, true));
            xx = grn(fu.scope("4"), conv(fu.scope("3"), xx, dim, 1, 1));
            Value gate = g.silu(convBn(b.scope("gate.0"), b.scope("gate.1"), xx, dim, 1, 1, 1, false));
            Value lepe = dilatedReparam(b.scope("lepe.0"), b.scope("lepe.1"), xx, k);

            // maps smaller than the kernel: bilinear up to the kernel size (upstream's is_pad path)
            int h = h0, w = w0;
            if (Math.min(h0, w0) < k) {
                if (h0 < w0) {
                    h = k;
                    w = (int) ((double) k / h0 * w0);
                } else {
                    h = (int) ((double) k / w0 * h0);
                    w = k;
                }
                xx = resize(g, xx, h, w, "bilinear", "pad_up_x");
                xf = resize(g, xf, h, w, "bilinear", "pad_up_xf");
            }
            int n = h * w;
            if (smk > h || smk > w) throw new IllegalArgumentException("OverLoCK: small kernel " + smk + " exceeds the " + h + "x" + w + " map");
            Value[] qk = g.split(xf, 1, dim, ctx);
            int half = dim / 2, c = half / heads;
            // queries: BN(conv1x1) * head_dim^-0.5, as [B, heads, N, c]
            float[] qw = b.scope("weight_query.0").floats("weight", half, dim, 1, 1);
            BatchNorm.Folded qf = BatchNorm.fold(qw, null, BatchNorm.affine(b.scope("weight_query.1"), half, BatchNorm.DEFAULT_EPS));
            float scale = (float) Math.pow((double) (dim / heads), -0.5);
            float[] qws = qf.weight().clone(), qbs = qf.bias().clone();
            for (int i = 0; i < qws.length; i++) qws[i] *= scale;
            for (int i = 0; i < qbs.length; i++) qbs[i] *= scale;
            Value q = emitConv(b.scope("weight_query.0"), qk[0], qws, qbs, half, dim, 1, 1, 1, "BatchNorm and head_dim^-0.5 folded in");
            Value qT = g.transpose(g.reshape(q, -1, heads, c, n), 0, 1, 3, 2);
            // keys: 7x7 adaptive pool, BN(conv1x1), then the 49 -> smk^2 + k^2 projection folded onto them
            Value kp = resize(g, qk[1], 7, 7, "adaptive", "key_pool");
            Value key = convBn(b.scope("weight_key.1"), b.scope("weight_key.2"), kp, half, 1, 1, 1, false);
            int taps = smk * smk + k * k;
            float[] pw = b.scope("weight_proj").floats("weight", taps, 49, 1, 1);
            float[] pwT = new float[49 * taps];
            for (int o = 0; o < taps; o++) for (int l = 0; l < 49; l++) pwT[l * taps + o] = pw[o * 49 + l];
            Value keyT = g.matMul(g.reshape(key, -1, heads, c, 49), b.scope("weight_proj").derived("weight_t", "[49, taps]", pwT, 49, taps));
            Value logits = g.add(g.matMul(qT, keyT), b.scope("weight_proj").param("bias", taps));     // [B, heads, N, taps]
            Value[] a = g.split(logits, 3, smk * smk, k * k);
            Value a1 = g.softmax(g.add(a[0], rpb(b, "rpb1", heads, h, w, smk)), -1);
            Value a2 = g.softmax(g.add(a[1], rpb(b, "rpb2", heads, h, w, k)), -1);
            // values: channels (m, g, c') with c' = dim / (2 heads); half m=0 with the small kernel, m=1 with the large
            int cv = dim / (2 * heads);
            Value vr = g.transpose(g.reshape(xx, -1, 2, heads, cv, n), 0, 1, 2, 4, 3);            // [B, 2, heads, N, cv]
            Value[] vs = g.split(vr, 1, 1, 1);
            Value x1 = naAv(g, a1, g.squeeze(vs[0], 1), h, w, smk, heads, cv);
            Value x2 = naAv(g, a2, g.squeeze(vs[1], 1), h, w, k, heads, cv);
            Value y = g.reshape(g.transpose(g.concat(1, x1, x2), 0, 1, 3, 2), -1, dim, h, w);        // [B, dim, H, W]
            if (h != h0 || w != w0) y = resize(g, y, h0, w0, "adaptive", "pad_down");
            y = convBn(b.scope("dyconv_proj.0"), b.scope("dyconv_proj.1"), y, dim, 1, 1, 1, false);
            y = se(b.scope("se_layer"), g.add(y, lepe));
            y = g.mul(gate, y);
            y = bnConv(b.scope("proj.0"), b.scope("proj.1"), y, out);
            Value z = g.add(ls ? layerScale(b.scope("ls1"), identity) : identity, y);
            z = resDw(b.scope("dwconv2"), z);
            Scope m = b.scope("mlp");
            Value mm = g.gelu(conv(m.scope("0"), layerNorm2d(b.scope("norm2"), z), mlp, 1, 1));
            mm = conv(m.scope("4"), grn(m.scope("3"), resDw(m.scope("2"), mm)), out, 1, 1);
            z = g.add(ls ? layerScale(b.scope("ls2"), z) : z, mm);
            if (last) return new Value[]{z, null};
            return g.split(z, 1, dim, ctx);
        });
    }

    /** {@code conv1x1(bn(x))} with the BatchNorm folded into the convolution that follows it. */
    static Value bnConv(Scope bn, Scope conv, Value x, int out) {
        int in = Math.toIntExact(x.dim(1));
        BatchNorm.Folded f = BatchNorm.foldBefore(conv.floats("weight", out, in, 1, 1), conv.floats("bias", out),
                BatchNorm.affine(bn, in, BatchNorm.DEFAULT_EPS));
        float[] fw = f.weight(), fb = f.bias();
        return emitConv(conv, x, fw, fb, out, in, 1, 1, 1, "preceding BatchNorm folded in");
    }

    /** The relative position bias of a k×k neighbourhood as {@code [heads, N, k²]} (NATTEN's taps). */
    private static Value rpb(Scope b, String name, int heads, int h, int w, int k) {
        int r = 2 * k - 1;
        float[] t = b.floats(name, heads, r, r);
        NeighborhoodWindows.Tables tab = NeighborhoodWindows.tables(new int[]{h, w}, new int[]{k, k}, new int[]{1, 1},
                new boolean[]{false, false}, true);
        int n = h * w, kk = k * k;
        float[] out = new float[heads * n * kk];
        for (int hh = 0; hh < heads; hh++) for (int i = 0; i < n * kk; i++) out[hh * n * kk + i] = t[hh * r * r + (int) tab.biasIndex()[i]];
        return b.derived(name + "_expanded", name + " at every (query, tap), [heads, N, k*k]", out, heads, n, kk);
    }

    /** NATTEN's na2d_av as the neighbourhood domain's {@code NeighborhoodAttentionAV2D} node: {@code attn [B, heads, N, k²]}, {@code v [B, heads, N, c]}. */
    private static Value naAv(Graph g, Value attn, Value v, int h, int w, int k, int heads, int c) {
        Value a = g.reshape(attn, -1, heads, h, w, (long) k * k);
        Value v4 = g.reshape(v, -1, heads, h, w, c);
        Value o = NeighborhoodAttention.av(g, a, v4, new int[]{k, k}, new int[]{1, 1}, null, false);
        return g.reshape(o, -1, heads, (long) h * w, c);
    }

    /** The auxiliary (deep-supervision) head: training only; its weights are checked and counted, not emitted. */
    private void checkAuxHead(Scope s, int c) {
        BatchNorm.affine(s.scope("0"), c, BatchNorm.DEFAULT_EPS);
        s.scope("2").floats("weight", cfg.numClasses(), c, 1, 1);
        s.scope("2").floats("bias", cfg.numClasses());
    }

    /** conv1x1 (no bias) → BN → SiLU → global pool → conv1x1 classifier. */
    private Value head(Scope s, Value x, int fusion) {
        Graph g = s.graph();
        Value y = g.silu(convBn(s.scope("0"), s.scope("1"), x, cfg.projection(), 1, 1, 1, false));
        Value p = g.reshape(g.globalAvgPool(y), -1, cfg.projection());
        Taps.of(g).embedding(p);                            // what the classifier conv reads
        float[] w = s.scope("4").floats("weight", cfg.numClasses(), cfg.projection(), 1, 1);
        return g.gemm(p, s.scope("4").derived("weight_2d", "classifier 1x1 conv as a matrix", w, cfg.numClasses(), cfg.projection()),
                s.scope("4").param("bias", cfg.numClasses()), true);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.embedDim());
    }
}
