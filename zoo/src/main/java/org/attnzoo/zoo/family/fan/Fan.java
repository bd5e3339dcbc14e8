package org.attnzoo.zoo.family.fan;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * FAN, Fully Attentional Networks (Zhou et al., ICML 2022), ViT and hybrid forms, as the authors'
 * {@code models/fan.py} (NVlabs/FAN), and TAP-FAN (Guo et al., ICCV 2023) as
 * {@code TAPADL_FAN/models/tap_fan.py} (guoyongcs/TAPADL).
 *
 * <p>Patch embedding: the ViT form stacks stride-2 conv3×3+BatchNorm layers with GELU between
 * (three for patch 8, four for patch 16; BatchNorm folded into the conv); the hybrid form runs the
 * first ConvNeXt stages (stem conv 4×4/4 + LayerNorm2d; stage 0 at the stem's width; each later
 * stage LayerNorm2d + conv 2×2/2, then ConvNeXt blocks: depthwise 7×7, LayerNorm2d, 1×1 → 4C, GELU,
 * 1×1, layer scale) and a 2×2/2 projection. A Fourier positional encoding follows (XCiT's sine
 * table of 32 frequencies per axis, a constant here, and its 1×1 projection, folded at build time).
 *
 * <p>A FAN block is {@code x + γ1·TokenMixing(LN(x))} (multi-head self-attention with separate q and
 * kv projections), then {@code x + γ2·ChannelProcessing(LN(x))}: q = Linear(x) softmaxed over
 * tokens, k = x softmaxed over tokens and averaged over each head's channels, a per-channel gate
 * {@code sigmoid(qᵀk)·temperature} multiplying {@code v = LN(Mlp(x))}, where the Mlp is fc1, a
 * residual {@code γ·DWConv} (depthwise 3×3, GELU, BatchNorm, depthwise 3×3) and fc2 (no activation
 * after fc1, as upstream). Where the channel width changes between blocks, an overlapping 3×3/2 conv
 * + LayerNorm downsamples. Two class-attention blocks (CaiT's, with XCiT's update of the patch
 * tokens: {@code x + γ1·LN(x)} and the doubling in the MLP step) then the final norm of the class
 * token and the head.
 *
 * <p>TAP-FAN ({@code numScales > 0}) feeds the token mixer of each block with a token-aggregated
 * map instead of {@code x}: a per-pixel softmax over scales (conv3×3 → BatchNorm → conv3×3) weighs
 * the map itself (scale 0) and 3×3 means of dilation 1, 2, … with zero padding counted (depthwise
 * convs of 1/9 weights). The residual stays {@code x}.
 */
public final class Fan extends FamilyArchitecture<Fan.Config> {

    /**
     * The FAN constructor arguments the registered models vary.
     *
     * @param channelDims    width of each block (a change between blocks inserts a downsampling)
     * @param numHeads       heads of each block
     * @param backboneDepths ConvNeXt stage depths of the hybrid stem; empty for the conv patch embed
     * @param backboneDims   ConvNeXt stage widths (as many as depths)
     * @param numScales      TAP token-aggregation scales; 0 for plain FAN
     * @param seMlp          FANBlock_SE blocks (unsupported: the authors' forward cannot run them)
     */
    public record Config(int imgSize, int numClasses, int patchSize, int[] channelDims, int[] numHeads, double mlpRatio,
                         boolean qkvBias, boolean tokensNorm, int clsAttnLayers, int[] backboneDepths, int[] backboneDims,
                         int numScales, boolean seMlp) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }

        boolean hybrid() {
            return backboneDepths.length > 0;
        }
    }

    public static final Map<String, Config> VARIANTS;

    private static int[] rep(int v, int n) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static int[] cat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static Config vit(int dim, int depth, int heads, int scales) {
        return new Config(224, 1000, 16, rep(dim, depth), rep(heads, depth), 4, true, true, 2, new int[0], new int[0], scales, false);
    }

    private static Config hybrid(int[] dims, int[] heads, int[] bbDepths, int scales) {
        return new Config(224, 1000, 16, dims, heads, 4, true, true, 2, bbDepths, Arrays.copyOf(new int[]{128, 256}, bbDepths.length),
                scales, false);
    }

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        for (String prefix : new String[]{"", "tap_"}) {
            int s = prefix.isEmpty() ? 0 : 4;   // the authors' TAP scripts pass --num-scales 4
            m.put(prefix + "fan_tiny_12_p16_224", vit(192, 12, 4, s));
            m.put(prefix + "fan_small_12_p16_224", vit(384, 12, 8, s));
            m.put(prefix + "fan_base_18_p16_224", vit(448, 18, 8, s));
            m.put(prefix + "fan_large_24_p16_224", vit(480, 24, 10, s));
            m.put(prefix + "fan_tiny_8_p4_hybrid", hybrid(rep(192, 8), rep(8, 8), new int[]{3, 3}, s));
            m.put(prefix + "fan_small_12_p4_hybrid", hybrid(rep(384, 10), rep(8, 10), new int[]{3, 3}, s));
            m.put(prefix + "fan_base_16_p4_hybrid", hybrid(rep(448, 16), rep(8, 16), new int[]{3, 3}, s));
            m.put(prefix + "fan_large_16_p4_hybrid", hybrid(rep(480, 22), rep(10, 22), new int[]{3, 5}, s));
            m.put(prefix + "fan_Xlarge_16_p4_hybrid", hybrid(cat(rep(528, 20), rep(768, 3)), cat(rep(11, 20), rep(16, 3)),
                    new int[]{3, 7}, s));
        }
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public Fan(String name, Config cfg, Preprocessing pre) {
        super("fan", name, cfg, pre);
        if (cfg.seMlp()) {
            throw new IllegalArgumentException(name + ": FANBlock_SE models are not supported (the authors' FAN.forward_features "
                    + "calls every block as blk(x), which FANBlock_SE.forward(x, H, W) cannot run)");
        }
    }

    /** The authors' eval config (timm default_cfg in fan.py): 224 px, crop_pct 1.0, bicubic, ImageNet mean/std. */
    public static Fan variant(String name) {
        Config c = lookup(VARIANTS, "FAN", name);
        return new Fan(name, c, Preprocessing.imagenet(c.imgSize(), 1.0, "bicubic"));
    }


    static final float BLOCK_EPS = 1e-6f, TORCH_LN_EPS = 1e-5f;

    /**
     * The block whose output the authors' segmentation backbone ({@code segmentation/mmseg/models/
     * backbones/fan.py}, {@code out_idx}) takes for its third map: fan_large_16_p4_hybrid's is block 18
     * of 22; tiny, small and base take their last block, as does any other hybrid here.
     */
    static int tapBlock(Config c) {
        int d = c.channelDims().length;
        return d == 22 && c.channelDims()[0] == 480 ? 18 : d - 1;
    }

    /**
     * The embedding: the normed class token the head reads (the authors' forward_features). Feature
     * maps for the hybrid forms only, as the authors' segmentation backbone FAN class returns them
     * (feat_downsample off, as its configs): each ConvNeXt stage's output, the output of block
     * {@link #tapBlock} and the patch tokens after the class-attention blocks (not normed). The ViT
     * forms are isotropic: embedding only (that class's ViT branch taps fixed blocks 4, 7, 11 of a
     * 12-block model, all at stride 16).
     */
    @Override
    public Backbone backbone() {
        int[] dims = cfg.channelDims();
        int last = dims[dims.length - 1];
        if (!cfg.hybrid()) return Backbone.embeddingOnly(last);
        int n = cfg.backboneDepths().length, t = tapBlock(cfg);
        int[] ch = new int[n + 2], r = new int[n + 2];
        for (int i = 0; i < n; i++) {
            ch[i] = cfg.backboneDims()[i];
            r[i] = 4 << i;
        }
        int red = 4 << n, down = 0;                         // the 2x2 projection halves the last stage's map
        for (int i = 0; i < dims.length - 1; i++) {
            if (dims[i] != dims[i + 1]) {
                down++;
                if (i == t) ch[n] = dims[i + 1];
            }
            if (i == t) r[n] = red << down;
        }
        if (t == dims.length - 1) r[n] = red << down;
        if (ch[n] == 0) ch[n] = dims[t];
        ch[n + 1] = last;
        r[n + 1] = red << down;
        return Backbone.of(last, ch, r);
    }

    /**
     * Any square size that the patch embedding divides (the Fourier positional encoding is computed
     * for the grid it meets; nothing else depends on the size): a multiple of the patch size for the
     * ViT form, of 4·2^stages·2 for the hybrid.
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "FAN's configuration has one image size (square inputs only)", 1);
        int m = cfg.hybrid() ? 4 << cfg.backboneDepths().length : cfg.patchSize();
        if (height % m != 0 || height < m) {
            throw badSize(height, width, "the input must be a multiple of " + m + " (the " + (cfg.hybrid() ? "hybrid stem and projection" : "patch size") + ")", m);
        }
        return new Fan(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] dims = cfg.channelDims();
        int c = dims[0];
        Scope pe = w.scope("patch_embed");
        Value fm = cfg.hybrid() ? hybridEmbed(pe, image, c) : convPatchEmbed(pe.scope("proj"), image, c);
        int h = Math.toIntExact(fm.dim(2)), wd = Math.toIntExact(fm.dim(3));
        Value x = g.transpose(g.reshape(fm, -1, c, (long) h * wd), 0, 2, 1);          // [B, N, C]
        x = g.add(x, fourierPositions(w.scope("pos_embed.token_projection"), h, wd, c));
        Taps taps = Taps.of(g);
        int nb = cfg.backboneDepths().length, tap = tapBlock(cfg);
        for (int i = 0; i < dims.length; i++) {
            Scope b = w.scope("blocks", i);
            final Value in = x;
            final int hh = h, ww = wd, ii = i;
            x = g.named("blocks." + i, () -> block(b, in, hh, ww, ii));
            if (i < dims.length - 1 && dims[i] != dims[i + 1]) {
                Scope ds = b.scope("downsample");
                Value map = g.reshape(g.transpose(x, 0, 2, 1), -1, dims[i], h, wd);
                map = conv(ds.scope("proj"), map, dims[i + 1], 3, 2, 1, true);
                h = Math.toIntExact(map.dim(2));
                wd = Math.toIntExact(map.dim(3));
                x = LayerNorm.apply(ds.scope("norm"), g.transpose(g.reshape(map, -1, dims[i + 1], (long) h * wd), 0, 2, 1), dims[i + 1], TORCH_LN_EPS);
            }
            if (cfg.hybrid() && i == tap) {                 // segmentation backbone: out_idx (after the block's downsample)
                final Value out = x;
                final int th = h, tw = wd;
                taps.feature(nb, () -> toMap(g, out, th, tw));
            }
        }
        c = dims[dims.length - 1];
        Value cls = g.expandBatch(w.param("cls_token", 1, 1, c), x);
        x = g.concat(1, cls, x);
        int heads = cfg.numHeads()[dims.length - 1];
        for (int i = 0; i < cfg.clsAttnLayers(); i++) {
            Scope b = w.scope("cls_attn_blocks", i);
            final Value in = x;
            final int cc = c;
            x = g.named("cls_attn_blocks." + i, () -> classAttentionBlock(b, in, cc, heads));
        }
        if (cfg.hybrid()) {                                 // segmentation backbone: the patch tokens after class attention
            final Value out = x;
            final int hh = h, ww = wd;
            taps.feature(nb + 1, () -> toMap(g, g.slice(out, 1, 1, Long.MAX_VALUE), hh, ww));
        }
        Value clsOut = g.reshape(g.slice(x, 1, 0, 1), -1, c);
        clsOut = LayerNorm.apply(w.scope("norm"), clsOut, c, BLOCK_EPS);
        taps.embedding(clsOut);                             // what the head reads (the authors' forward_features)
        return Linear.apply(w.scope("head"), clsOut, c, cfg.numClasses(), true);
    }

    /** Tokens {@code [B, h·w, C]} as an NCHW map. */
    private static Value toMap(Graph g, Value tokens, int h, int w) {
        return g.reshape(g.transpose(tokens, 0, 2, 1), -1, tokens.dim(2), h, w);
    }

    // ------------------------------------------------------------------ patch embeddings

    /** ConvPatchEmbed: stride-2 conv3×3 (no bias) + BatchNorm, GELU between; widths C/8, C/4, C/2, C (patch 16). */
    private Value convPatchEmbed(Scope proj, Value image, int c) {
        int[] widths = switch (cfg.patchSize()) {
            case 16 -> new int[]{c / 8, c / 4, c / 2, c};
            case 8 -> new int[]{c / 4, c / 2, c};
            case 4 -> new int[]{c / 4, c};
            default -> throw new IllegalArgumentException(name + ": FAN's ConvPatchEmbed has patch sizes 4, 8, 16, not " + cfg.patchSize());
        };
        Value x = image;
        for (int i = 0; i < widths.length; i++) {
            if (i > 0) x = proj.graph().gelu(x);
            x = convBn(proj.scope(String.valueOf(2 * i)), x, widths[i]);
        }
        return x;
    }

    /** conv3×3 stride 2 pad 1 without bias ({@code .0}) then BatchNorm ({@code .1}), folded. */
    private static Value convBn(Scope s, Value x, int out) {
        return BatchNorm.convFolded(s.scope("0"), s.scope("1"), x, out, 3, 2, 1, false, BatchNorm.DEFAULT_EPS);
    }

    /** HybridEmbed: the ConvNeXt stages' features, then a 2×2/2 projection to the embedding width. */
    private Value hybridEmbed(Scope pe, Value image, int c) {
        Graph g = pe.graph();
        Scope bb = pe.scope("backbone");
        int[] d = cfg.backboneDims();
        Value x = conv(bb.scope("stem.0"), image, d[0], 4, 4, 0, true);
        x = layerNorm2d(bb.scope("stem.1"), x, d[0], false);   // contiguous conv output: F.layer_norm
        int prev = d[0];
        for (int i = 0; i < cfg.backboneDepths().length; i++) {
            Scope st = bb.scope("stages", i);
            if (i > 0 || prev != d[i]) {
                x = layerNorm2d(st.scope("downsample.0"), x, prev, true);
                x = conv(st.scope("downsample.1"), x, d[i], 2, 2, 0, true);
            }
            for (int j = 0; j < cfg.backboneDepths()[i]; j++) {
                Scope b = st.scope("blocks", j);
                final Value in = x;
                final int dim = d[i];
                x = g.named("patch_embed.backbone.stages." + i + ".blocks." + j, () -> convNeXtBlock(b, in, dim));
            }
            Taps.of(g).feature(i, x);                       // segmentation backbone: each ConvNeXt stage's output
            prev = d[i];
        }
        return conv(pe.scope("proj"), x, c, 2, 2, 0, true);
    }

    private static Value convNeXtBlock(Scope b, Value x, int dim) {
        Graph g = b.graph();
        Value y = conv(b.scope("conv_dw"), x, dim, 7, 1, 3, true, dim);
        y = layerNorm2d(b.scope("norm"), y, dim, true);
        y = g.gelu(conv(b.scope("mlp.fc1"), y, 4 * dim, 1, 1, 0, true));
        y = conv(b.scope("mlp.fc2"), y, dim, 1, 1, 0, true);
        y = g.mul(y, g.reshape(b.param("gamma", dim), dim, 1, 1));
        return g.add(x, y);
    }

    /**
     * timm 0.5.4's LayerNorm2d (eps 1e-6) over the channels of an NCHW map. For a contiguous input it
     * is F.layer_norm; otherwise (any map downstream of the stem's LayerNorm2d, whose output is a
     * permuted view, so every later conv returns channels-last strides, on CPU and CUDA alike) it
     * takes its fallback branch, whose {@code torch.var_mean} is the unbiased variance (÷(C−1)).
     * That is LayerNorm with weight·√((C−1)/C) and eps·(C−1)/C, which is how it is built here.
     */
    static Value layerNorm2d(Scope s, Value x, int c, boolean unbiased) {
        Graph g = s.graph();
        Value t = g.transpose(x, 0, 2, 3, 1);
        Value y;
        if (!unbiased) {
            y = LayerNorm.apply(s, t, c, 1e-6f);
        } else {
            double r = (c - 1.0) / c;
            float[] wt = s.floats("weight", c);
            float[] ws = new float[c];
            for (int i = 0; i < c; i++) ws[i] = (float) (wt[i] * Math.sqrt(r));
            y = g.layerNorm(t, s.derived("weight_unbiased", "weight·sqrt((C-1)/C): LayerNorm2d's unbiased-variance branch", ws, c),
                    s.param("bias", c), (float) (1e-6 * r), -1);
        }
        return g.transpose(y, 0, 3, 1, 2);
    }

    static Value conv(Scope s, Value x, int out, int k, int stride, int pad, boolean bias) {
        return conv(s, x, out, k, stride, pad, bias, 1);
    }

    static Value conv(Scope s, Value x, int out, int k, int stride, int pad, boolean bias, int groups) {
        int in = Math.toIntExact(x.dim(1));
        return s.graph().conv2d(x, s.param("weight", out, in / groups, k, k), bias ? s.param("bias", out) : null,
                new int[]{stride, stride}, new int[]{pad, pad, pad, pad}, new int[]{1, 1}, groups);
    }

    /**
     * PositionalEncodingFourier for an h×w grid as a [1, N, C] constant: the 64-channel sine table
     * (y half then x half; per half sin of even and cos of odd frequencies interleaved, positions
     * (i+1)/(n+1e-6)·2π, frequencies 10000^(2⌊k/2⌋/32)) through the 1×1 projection, in double.
     */
    static Value fourierPositions(Scope s, int h, int w, int c) {
        int hidden = 32, n = h * w;
        double[][] table = fourierTable(h, w, hidden);
        float[] wt = s.floats("weight", c, 2L * hidden, 1, 1), bias = s.floats("bias", c);
        float[] out = new float[n * c];
        for (int p = 0; p < n; p++)
            for (int o = 0; o < c; o++) {
                double acc = bias[o];
                for (int k = 0; k < 2 * hidden; k++) acc += wt[o * 2 * hidden + k] * table[k][p];
                out[p * c + o] = (float) acc;
            }
        return s.derived("positions", "Fourier table through token_projection (" + h + "x" + w + ")", out, 1, n, c);
    }

    static double[][] fourierTable(int h, int w, int hidden) {
        double eps = 1e-6, scale = 2 * Math.PI;
        double[][] t = new double[2 * hidden][h * w];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double y = (i + 1) / (h + eps) * scale, x = (j + 1) / (w + eps) * scale;
                for (int k = 0; k < hidden; k++) {
                    double dimT = Math.pow(10000, 2.0 * (k / 2) / hidden);
                    t[k][i * w + j] = k % 2 == 0 ? Math.sin(y / dimT) : Math.cos(y / dimT);
                    t[hidden + k][i * w + j] = k % 2 == 0 ? Math.sin(x / dimT) : Math.cos(x / dimT);
                }
            }
        return t;
    }

    // ------------------------------------------------------------------ blocks

    private Value block(Scope b, Value x, int h, int w, int i) {
        Graph g = b.graph();
        int c = cfg.channelDims()[i], heads = cfg.numHeads()[i];
        Value mixIn = cfg.numScales() > 0 ? tokenAggregation(b, x, h, w, c) : x;
        Value t = tokenMixing(b.scope("attn"), LayerNorm.apply(b.scope("norm1"), mixIn, c, BLOCK_EPS), c, heads);
        x = g.add(x, g.mul(t, b.param("gamma1", c)));
        Value cp = channelProcessing(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), x, c, BLOCK_EPS), h, w, c, heads,
                (int) (c * cfg.mlpRatio()), cfg.qkvBias(), true);
        return g.add(x, g.mul(cp, b.param("gamma2", c)));
    }

    /** Multi-head self-attention with a q projection and a fused kv projection (k first), then proj. */
    private Value tokenMixing(Scope a, Value x, int c, int heads) {
        Graph g = a.graph();
        long n = x.dim(1);
        int hd = c / heads;
        Value q = g.transpose(g.reshape(Linear.apply(a.scope("q"), x, c, c, cfg.qkvBias()), -1, n, heads, hd), 0, 2, 1, 3);
        Value kv = g.transpose(g.reshape(Linear.apply(a.scope("kv"), x, c, 2L * c, cfg.qkvBias()), -1, n, 2, heads, hd), 2, 0, 3, 1, 4);
        Value[] p = g.split(kv, 0, 1, 1);
        Value k = g.squeeze(p[0], 0), v = g.squeeze(p[1], 0);
        Value logits = g.matMul(g.mul(q, (float) Math.pow(hd, -0.5)), g.transpose(k, 0, 1, 3, 2));
        Value o = g.matMul(g.softmax(logits, -1), v);
        o = g.reshape(g.transpose(o, 0, 2, 1, 3), -1, n, c);
        return Linear.apply(a.scope("proj"), o, c, c, true);
    }

    /**
     * ChannelProcessing: the gate {@code sigmoid(softmax_N(q)ᵀ · mean_d(softmax_N(x))) · temperature}
     * per head channel, times {@code v = norm_v(mlp_v(x))} (the same gate for every token).
     */
    static Value channelProcessing(Scope s, Value x, int h, int w, int c, int heads, int hidden, boolean qBias, boolean mlpResidual) {
        Graph g = s.graph();
        long n = x.dim(1);
        int hd = c / heads;
        Value q = g.transpose(g.reshape(Linear.apply(s.scope("q"), x, c, c, qBias), -1, n, heads, hd), 0, 2, 3, 1);
        q = g.softmax(q, -1);                                                             // [B, h, d, N], softmax over tokens
        Value k = g.transpose(g.reshape(x, -1, n, heads, hd), 0, 2, 1, 3);                 // [B, h, N, d]
        k = g.reduceMean(g.softmax(k, 2), true, 3);                                         // [B, h, N, 1]
        Value gate = g.mul(g.sigmoid(g.matMul(q, k)), s.param("temperature", heads, 1, 1)); // [B, h, d, 1]
        Value v = fanMlp(s.scope("mlp_v"), x, h, w, c, hidden, mlpResidual);
        v = LayerNorm.apply(s.scope("norm_v"), v, c, TORCH_LN_EPS);
        return g.mul(v, g.reshape(gate, -1, 1, c));
    }

    /**
     * FAN's Mlp: fc1, then {@code γ·DWConv(x)} (plus x when {@code residual}, as fan.py; FAN-Swin's
     * FANMlp has no residual), then fc2. DWConv: depthwise 3×3, GELU, BatchNorm, depthwise 3×3.
     */
    static Value fanMlp(Scope s, Value x, int h, int w, int c, int hidden, boolean residual) {
        Graph g = s.graph();
        long n = x.dim(1);
        Value f = Linear.apply(s.scope("fc1"), x, c, hidden, true);
        Scope dw = s.scope("dwconv");
        Value map = g.reshape(g.transpose(f, 0, 2, 1), -1, hidden, h, w);
        map = g.gelu(conv(dw.scope("conv1"), map, hidden, 3, 1, 1, true, hidden));
        double[][] a = BatchNorm.affine(dw.scope("bn"), hidden, BatchNorm.DEFAULT_EPS);
        float[] sc = new float[hidden], sh = new float[hidden];
        for (int i = 0; i < hidden; i++) {
            sc[i] = (float) a[0][i];
            sh[i] = (float) a[1][i];
        }
        map = g.add(g.mul(map, dw.scope("bn").derived("scale", "BatchNorm scale γ/√(σ²+ε)", sc, hidden, 1, 1)),
                dw.scope("bn").derived("shift", "BatchNorm shift β−μ·scale", sh, hidden, 1, 1));
        map = conv(dw.scope("conv2"), map, hidden, 3, 1, 1, true, hidden);
        Value y = g.mul(g.transpose(g.reshape(map, -1, hidden, n), 0, 2, 1), s.param("gamma", hidden));
        if (residual) y = g.add(y, f);
        return Linear.apply(s.scope("fc2"), y, hidden, c, true);
    }

    /**
     * TAP: {@code Σ_k softmax_k(predictor(x))·pool_k(x)} with pool_0 the identity and pool_d a 3×3
     * mean of dilation d over zero padding d; predictor conv3×3 → BatchNorm (folded) → conv3×3.
     */
    private Value tokenAggregation(Scope b, Value x, int h, int w, int c) {
        Graph g = b.graph();
        int k = cfg.numScales();
        Value map = g.reshape(g.transpose(x, 0, 2, 1), -1, c, h, w);
        Scope dp = b.scope("dilation_predictor.proj");
        BatchNorm.Folded f = BatchNorm.fold(dp.scope("0").floats("weight", k, c, 3, 3), null,
                BatchNorm.affine(dp.scope("1"), k, BatchNorm.DEFAULT_EPS));
        Value m = g.conv2d(map, dp.scope("0").derived("weight_folded", "BatchNorm folded in", f.weight(), k, c, 3, 3),
                dp.scope("0").derived("bias_folded", "BatchNorm shift", f.bias(), k), new int[]{1, 1}, new int[]{1, 1, 1, 1}, new int[]{1, 1}, 1);
        m = conv(dp.scope("2"), m, k, 3, 1, 1, false);
        m = g.softmax(m, 1);                                                               // [B, K, H, W]
        Value[] weights = k > 1 ? g.split(m, 1, ones(k)) : new Value[]{m};
        Value mixed = g.mul(map, weights[0]);
        for (int d = 1; d < k; d++) {
            float[] mean = new float[c * 9];
            Arrays.fill(mean, 1f / 9);
            Value pooled = g.conv2d(map, g.constant("tap_mean3x3_c" + c, mean, c, 1, 3, 3), null, new int[]{1, 1},
                    new int[]{d, d, d, d}, new int[]{d, d}, c);
            mixed = g.add(mixed, g.mul(pooled, weights[d]));
        }
        return g.transpose(g.reshape(mixed, -1, c, (long) h * w), 0, 2, 1);
    }

    private static long[] ones(int k) {
        long[] a = new long[k];
        Arrays.fill(a, 1);
        return a;
    }

    /**
     * ClassAttentionBlock with tokens_norm as configured: the class token attends over all tokens;
     * patch tokens become {@code x + γ1·LN(x)} then (norm) and are doubled by the residual of the MLP step.
     */
    private Value classAttentionBlock(Scope b, Value x, int c, int heads) {
        Graph g = b.graph();
        long n = x.dim(1);
        int hd = c / heads;
        Value xn = LayerNorm.apply(b.scope("norm1"), x, c, BLOCK_EPS);
        Scope a = b.scope("attn");
        Value clsIn = g.slice(xn, 1, 0, 1);
        Value q = g.transpose(g.reshape(Linear.apply(a.scope("q"), clsIn, c, c, cfg.qkvBias()), -1, 1, heads, hd), 0, 2, 1, 3);
        Value k = g.transpose(g.reshape(Linear.apply(a.scope("k"), xn, c, c, cfg.qkvBias()), -1, n, heads, hd), 0, 2, 3, 1);
        Value v = g.transpose(g.reshape(Linear.apply(a.scope("v"), xn, c, c, cfg.qkvBias()), -1, n, heads, hd), 0, 2, 1, 3);
        Value attn = g.softmax(g.matMul(g.mul(q, (float) Math.pow(hd, -0.5)), k), -1);
        Value o = g.reshape(g.transpose(g.matMul(attn, v), 0, 2, 1, 3), -1, 1, c);
        o = Linear.apply(a.scope("proj"), o, c, c, true);
        Value xAttn = g.concat(1, o, g.slice(xn, 1, 1, n));
        x = g.add(x, g.mul(xAttn, b.param("gamma1", c)));
        Scope n2 = b.scope("norm2");
        if (cfg.tokensNorm()) {
            x = LayerNorm.apply(n2, x, c, BLOCK_EPS);
        } else {
            x = g.concat(1, LayerNorm.apply(n2, g.slice(x, 1, 0, 1), c, BLOCK_EPS), g.slice(x, 1, 1, n));
        }
        Value cls = g.slice(x, 1, 0, 1);
        int hidden = (int) (c * cfg.mlpRatio());
        Value mlp = Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), cls, c, hidden, true)), hidden, c, true);
        mlp = g.mul(mlp, b.param("gamma2", c));
        return g.add(x, g.concat(1, mlp, g.slice(x, 1, 1, n)));
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(cfg.channelDims());
    }
}
