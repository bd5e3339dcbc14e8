package org.attnzoo.zoo.family.davit;

import org.attnzoo.converters.KeyMap;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Attention;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Mlp;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DaViT (Ding et al., ECCV 2022): four stages of dual-attention pairs, a spatial-window block
 * (non-overlapping {@code window×window} MHSA, feature map zero-padded to a multiple of the window)
 * followed by a channel-group block (per head a {@code d×d} softmax map {@code softmax(k̂ᵀv)} applied
 * to q), each with depthwise-conv position encodings before attention and before the MLP. Weight
 * names follow timm's {@code davit.py}; {@link #adapt} maps the authors' layout (dingmyu/davit:
 * {@code patch_embeds}, {@code main_blocks}, {@code cpe.0/1}, {@code norms}, {@code head}).
 *
 * <p>Build-time folding (exact up to float rounding): the residual position encodings
 * {@code x + dwconv(x)} become one depthwise conv (identity added to the centre tap); the attention
 * scales go into the q (window) or k (channel) weights; q/k/v are one MatMul.
 */
public final class DaViT extends FamilyArchitecture<DaViT.Config> {

    /** timm's DaVit constructor arguments (the classification defaults: spatial+channel, no cpe act, 2×2 downsample). */
    public record Config(int imgSize, int inChans, int numClasses, int[] depths, int[] embedDims, int[] numHeads,
                         int windowSize, double mlpRatio, boolean qkvBias, double normEps) implements ImageConfig {
        public Config {
            if (depths.length != embedDims.length || numHeads.length != embedDims.length) {
                throw new IllegalArgumentException("DaViT config: per-stage arrays differ in length");
            }
        }

        /** The same model at another input size (DaViT is size-agnostic; e.g. 384 fine-tunes). */
        public Config withImgSize(int size) {
            return new Config(size, inChans, numClasses, depths, embedDims, numHeads, windowSize, mlpRatio, qkvBias, normEps);
        }
    }

    private static Config v(int[] depths, int[] dims, int[] heads) {
        return new Config(224, 3, 1000, depths, dims, heads, 7, 4.0, true, 1e-5);
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("davit_tiny", v(new int[]{1, 1, 3, 1}, new int[]{96, 192, 384, 768}, new int[]{3, 6, 12, 24}));
        m.put("davit_small", v(new int[]{1, 1, 9, 1}, new int[]{96, 192, 384, 768}, new int[]{3, 6, 12, 24}));
        m.put("davit_base", v(new int[]{1, 1, 9, 1}, new int[]{128, 256, 512, 1024}, new int[]{4, 8, 16, 32}));
        m.put("davit_large", v(new int[]{1, 1, 9, 1}, new int[]{192, 384, 768, 1536}, new int[]{6, 12, 24, 48}));
        m.put("davit_huge", v(new int[]{1, 1, 9, 1}, new int[]{256, 512, 1024, 2048}, new int[]{8, 16, 32, 64}));
        m.put("davit_giant", v(new int[]{1, 1, 12, 3}, new int[]{384, 768, 1536, 3072}, new int[]{12, 24, 48, 96}));
        VARIANTS = java.util.Collections.unmodifiableMap(m);
    }

    public DaViT(String name, Config cfg, Preprocessing pre) {
        super("davit", name, cfg, pre);
    }

    /** timm's pretrained cfg: 224², crop_pct 0.95, bicubic, ImageNet mean/std. */
    public static DaViT variant(String name) {
        Config c = lookup(VARIANTS, "DaViT", name);
        return new DaViT(name, c, Preprocessing.imagenet(c.imgSize(), 0.95, "bicubic"));
    }

    /** A variant at another input size (crop_pct 1.0, as the authors' 384 configs). */
    public static DaViT variant(String name, int imgSize) {
        DaViT d = variant(name);
        if (imgSize == d.cfg.imgSize()) return d;
        return new DaViT(name + "_" + imgSize, d.cfg.withImgSize(imgSize), Preprocessing.imagenet(imgSize, 1.0, "bicubic"));
    }

    /** Pre-logits width and the four stage maps at strides 4, 8, 16, 32 (timm's feature_info). */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDims(), 4);
    }

    /** Any square size: the stem, downsamples and windows pad as timm's do. */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "DaViT's configuration has one image size (square inputs only)", 1);
        if (height < 32) throw badSize(height, width, "the input must be at least 32x32 (four downsamplings)", 32);
        return new DaViT(name, cfg.withImgSize(height), preprocessingAt(height, width));
    }

    /** timm's parameter count of a config, analytically (for variants too large to build in a test). */
    public static long parameterCount(Config c) {
        long n = (long) c.embedDims()[0] * c.inChans() * 49 + c.embedDims()[0] + 2L * c.embedDims()[0];
        for (int i = 0; i < c.embedDims().length; i++) {
            long d = c.embedDims()[i];
            if (i > 0) {
                long p = c.embedDims()[i - 1];
                n += 2 * p + d * p * 4 + d;
            }
            long hidden = (long) (d * c.mlpRatio());
            long block = 2 * (d * 9 + d)                    // cpe1, cpe2
                    + 2 * (2 * d)                            // norm1, norm2
                    + 3 * d * d + (c.qkvBias() ? 3 * d : 0) + d * d + d   // qkv, proj
                    + d * hidden + hidden + hidden * d + d;  // mlp
            n += 2L * c.depths()[i] * block;
        }
        long last = c.embedDims()[c.embedDims().length - 1];
        return n + 2 * last + last * c.numClasses() + c.numClasses();
    }

    // ------------------------------------------------------------------ checkpoint layouts

    static boolean isAuthorsLayout(StateDict sd) {
        for (String k : sd.keys()) if (k.startsWith("patch_embeds.") || k.startsWith("main_blocks.")) return true;
        return false;
    }

    /** The authors' keys → timm's: the rules of timm's {@code checkpoint_filter_fn}, in its order. */
    static final KeyMap AUTHORS = KeyMap.builder()
            .replace("^patch_embeds\\.([0-9]+)", "stages.$1.downsample")
            .replace("^main_blocks\\.([0-9]+)", "stages.$1.blocks")
            .replace("downsample\\.proj", "downsample.conv")
            .replace("^stages\\.0\\.downsample", "stem")
            .rename("head\\.(weight|bias)", "head.fc.$1")
            .rename("norms\\.(weight|bias)", "head.norm.$1")
            .replace("\\.cpe\\.0\\.", ".cpe1.")
            .replace("\\.cpe\\.1\\.", ".cpe2.")
            .build();

    @Override
    public StateDict adapt(StateDict upstream) {
        return isAuthorsLayout(upstream) ? AUTHORS.apply(upstream) : upstream;
    }

    // ------------------------------------------------------------------ forward

    /**
     * A feature map as a token matrix {@code [B·H·W, C]} (rows in raster order per sample) with its
     * grid size. Keeping tokens 2-D lets ONNX Runtime fuse every Linear's MatMul and bias into one Gemm.
     */
    private record Tokens(Value t, long h, long w) {
        long c() {
            return t.dim(1);
        }

        long n() {
            return h * w;
        }
    }

    private static Value toNchw(Graph g, Tokens x) {
        Value t3 = g.reshape(x.t(), -1, x.n(), x.c());
        return g.reshape(g.transpose(t3, 0, 2, 1), -1, x.c(), x.h(), x.w());
    }

    private static Tokens toTokens(Graph g, Value nchw) {
        long c = nchw.dim(1), h = nchw.dim(2), w = nchw.dim(3);
        return new Tokens(g.reshape(g.transpose(g.reshape(nchw, -1, c, h * w), 0, 2, 1), -1, c), h, w);
    }

    private float eps() {
        return (float) cfg.normEps();
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] dims = cfg.embedDims();
        // stem: right/bottom zero pad to a multiple of 4, 7x7 stride-4 conv, LayerNorm over channels
        Value x = padTo(g, image, 4);
        Scope stem = w.scope("stem");
        x = g.conv2d(x, stem.scope("conv").param("weight", dims[0], cfg.inChans(), 7, 7), stem.scope("conv").param("bias", dims[0]),
                new int[]{4, 4}, new int[]{3, 3, 3, 3}, new int[]{1, 1}, 1);
        Tokens t = toTokens(g, x);
        t = new Tokens(LayerNorm.apply(stem.scope("norm"), t.t(), dims[0], eps()), t.h(), t.w());
        Taps taps = Taps.of(g);
        for (int i = 0; i < dims.length; i++) {
            Scope st = w.scope("stages", i);
            if (i > 0) t = downsample(st.scope("downsample"), t, dims[i]);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = st.scope("blocks", j);
                final Tokens in = t;
                final int si = i;
                Tokens sp = g.named("stages." + i + ".blocks." + j + ".0", () -> block(b.scope("0"), in, si, true));
                t = g.named("stages." + i + ".blocks." + j + ".1", () -> block(b.scope("1"), sp, si, false));
            }
            final Tokens out = t;
            taps.feature(i, () -> toNchw(g, out));          // timm features_only: each stage's output
        }
        long c = dims[dims.length - 1];
        Value pooled = g.reduceMean(g.reshape(t.t(), -1, t.n(), c), false, 1);
        Value normed = LayerNorm.apply(w.scope("head.norm"), pooled, c, eps());
        taps.embedding(normed);                             // timm forward_head(pre_logits=True)
        return Linear.apply(w.scope("head.fc"), normed, c, cfg.numClasses(), true);
    }

    private static Value padTo(Graph g, Value nchw, int m) {
        long h = nchw.dim(2), wd = nchw.dim(3);
        long pb = (m - h % m) % m, pr = (m - wd % m) % m;
        if (pb == 0 && pr == 0) return nchw;
        return g.pad(nchw, new long[]{0, 0, 0, 0, 0, 0, pb, pr}, 0f);
    }

    private Tokens downsample(Scope s, Tokens t, int out) {
        Graph g = s.graph();
        long in = t.c();
        Value n = LayerNorm.apply(s.scope("norm"), t.t(), in, eps());
        Value x = padTo(g, toNchw(g, new Tokens(n, t.h(), t.w())), 2);
        x = g.conv2d(x, s.scope("conv").param("weight", out, in, 2, 2), s.scope("conv").param("bias", out),
                new int[]{2, 2}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        return toTokens(g, x);
    }

    /** {@code x + dwconv3x3(x)} as one depthwise conv with the identity in the centre tap. */
    private static Tokens convPosEnc(Scope s, Tokens t) {
        Graph g = s.graph();
        int c = Math.toIntExact(t.c());
        float[] k = s.floats("weight", c, 1, 3, 3).clone();
        for (int i = 0; i < c; i++) k[i * 9 + 4] += 1f;
        Value wt = s.derived("weight", "x + dwconv(x): identity added to the centre tap", k, c, 1, 3, 3);
        Value y = g.conv2d(toNchw(g, t), wt, s.param("bias", c), new int[]{1, 1}, new int[]{1, 1, 1, 1}, new int[]{1, 1}, c);
        return toTokens(g, y);
    }

    private Tokens block(Scope s, Tokens in, int stage, boolean spatial) {
        Graph g = s.graph();
        long c = in.c();
        int heads = cfg.numHeads()[stage];
        Tokens x = convPosEnc(s.scope("cpe1.proj"), in);
        Value n = LayerNorm.apply(s.scope("norm1"), x.t(), c, eps());
        Value a = spatial ? windowAttention(s.scope("attn"), new Tokens(n, x.h(), x.w()), heads)
                : channelAttention(s.scope("attn"), new Tokens(n, x.h(), x.w()), heads);
        Tokens y = new Tokens(g.add(x.t(), a), x.h(), x.w());
        y = convPosEnc(s.scope("cpe2.proj"), y);
        long hidden = (long) (c * cfg.mlpRatio());
        Value m = Mlp.apply(s.scope("mlp"), LayerNorm.apply(s.scope("norm2"), y.t(), c, eps()), c, hidden, c);
        perSampleMacs(g, m, y.n(), c, 2 * hidden);
        return new Tokens(g.add(y.t(), m), y.h(), y.w());
    }

    /**
     * Counts the MACs a Linear on a {@code [B·rows, in]} token matrix does per sample: the graph
     * builder counts a run-time row dimension as one row.
     */
    private static Value perSampleMacs(Graph g, Value y, long rows, long in, long out) {
        g.addMacs((rows - 1) * in * out);
        return y;
    }

    private static Value linear(Scope s, Value x2d, long rows, long in, long out) {
        return perSampleMacs(s.graph(), Linear.apply(s, x2d, in, out, true), rows, in, out);
    }

    /** The fused qkv projection (q | k | v along the output axis), with per-part output scales folded in. */
    private Value qkv(Scope s, Value x, long rows, long c, float qScale, float kScale) {
        int ci = Math.toIntExact(c);
        float[] w = s.floats("weight", 3 * c, c);
        float[] b = cfg.qkvBias() ? s.floats("bias", 3 * c) : null;
        float[][] ws = new float[3][], bs = b == null ? null : new float[3][];
        for (int p = 0; p < 3; p++) {
            ws[p] = Arrays.copyOfRange(w, p * ci * ci, (p + 1) * ci * ci);
            if (bs != null) bs[p] = Arrays.copyOfRange(b, p * ci, (p + 1) * ci);
        }
        Value y = Linear.apply(s, x, ws, bs, c, new long[]{c, c, c}, new float[]{qScale, kScale, 1f}, "weight", "bias");
        return perSampleMacs(s.graph(), y, rows, c, 3 * c);
    }

    /**
     * Window MHSA as upstream: zero-pad the normed map to whole windows, partition (a Transpose that
     * keeps {@code ws×C} rows contiguous), fused qkv, per-head softmax attention, output projection,
     * reverse, crop.
     */
    private Value windowAttention(Scope s, Tokens t, int heads) {
        Graph g = s.graph();
        long c = t.c(), h = t.h(), w = t.w();
        int ws = cfg.windowSize();
        long pb = (ws - h % ws) % ws, pr = (ws - w % ws) % ws;
        long hp = h + pb, wp = w + pr, nh = hp / ws, nw = wp / ws, n = (long) ws * ws;
        Value x = g.reshape(t.t(), -1, h, w, c);
        if (pb > 0 || pr > 0) x = g.pad(x, new long[]{0, 0, 0, 0, 0, pb, pr, 0}, 0f);
        boolean one = nh == 1 && nw == 1;
        Value win = one ? x : g.transpose(g.reshape(x, -1, nh, ws, nw, ws, c), 0, 1, 3, 2, 4, 5);
        Value rows = g.reshape(win, -1, c);                                   // [B·nW·n, C], window-major
        Value q = g.reshape(qkv(s.scope("qkv"), rows, hp * wp, c, (float) Math.pow((double) (c / heads), -0.5), 1f), -1, n, 3 * c);
        Attention.Heads hd = Attention.splitHeads(g, q, c, heads);
        Value attn = g.softmax(g.matMul(hd.q(), hd.kT()), -1);
        Value o = g.reshape(Attention.mergeHeads(g, g.matMul(attn, hd.v())), -1, c);
        g.addMacs(2 * (nh * nw - 1) * n * n * c);   // the two attention MatMuls, counted above for one window
        o = linear(s.scope("proj"), o, hp * wp, c, c);
        Value back = one ? g.reshape(o, -1, hp, wp, c)
                : g.reshape(g.transpose(g.reshape(o, -1, nh, nw, ws, ws, c), 0, 1, 3, 2, 4, 5), -1, hp, wp, c);
        if (pb > 0 || pr > 0) back = g.slice(back, new long[]{0, 0}, new long[]{h, w}, new long[]{1, 2}, null);
        return g.reshape(back, -1, c);
    }

    /** timm's ChannelAttention: per head {@code A = softmax((k·s)ᵀ v)} ({@code d×d}), output {@code q Aᵀ}. */
    private Value channelAttention(Scope s, Tokens t, int heads) {
        Graph g = s.graph();
        long c = t.c(), n = t.n();
        Value qkv = g.reshape(qkv(s.scope("qkv"), t.t(), n, c, 1f, (float) Math.pow((double) (c / heads), -0.5)), -1, n, 3 * c);
        Attention.Heads h = Attention.splitHeads(g, qkv, c, heads);
        Value attn = g.softmax(g.matMul(h.kT(), h.v()), -1);                   // [B, h, d, d]
        Value out = g.matMul(h.q(), g.transpose(attn, 0, 1, 3, 2));            // [B, h, N, d]
        return linear(s.scope("proj"), g.reshape(Attention.mergeHeads(g, out), -1, c), n, c, c);
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(cfg.embedDims());
    }
}
