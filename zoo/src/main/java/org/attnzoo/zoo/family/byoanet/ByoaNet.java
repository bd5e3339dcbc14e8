package org.attnzoo.zoo.family.byoanet;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * timm's bring-your-own-attention networks ({@code byoanet.py} on {@code byobnet.py}'s ByobNet):
 * HaloNet, BoTNet and Lambda ResNets. A ResNet-style body — a conv stem, four stages of bottleneck
 * blocks (1×1, k×k, optional SE/ECA, 1×1, residual) — where chosen blocks replace the k×k conv by
 * a self-attention layer followed by BatchNorm + activation:
 * <ul>
 *   <li><b>halo</b> attention (Vaswani et al. 2021): queries in non-overlapping b×b blocks attend to
 *       the (b+2h)² window around their block (zero padded at the borders, the padding taking part
 *       in the softmax as upstream), with 2-D relative position logits;</li>
 *   <li><b>bottleneck</b> attention (BoTNet): global multi-head attention with relative logits;</li>
 *   <li><b>lambda</b> layers: a content lambda from softmax-normalised keys, plus a position lambda
 *       from an r×r convolution over the values (or a relative position table).</li>
 * </ul>
 * See {@link SelfAttention} for how each is laid out in ONNX.
 *
 * <p>{@link Config} is the network fully resolved per block (timm resolves model-level layer
 * choices and per-block overrides at construction; {@link #VARIANTS} are written the way
 * {@code byoanet.py} writes its configs and resolved the same way). Weight names are timm's.
 * Every BatchNorm that follows a convolution is folded into it at build time; lambda layers'
 * q/v BatchNorms fold into their qkv projection.
 */
public final class ByoaNet extends FamilyArchitecture<ByoaNet.Config> {

    /** A squeeze-excite ("se", {@code rdRatio}) or ECA ("eca") gate after a bottleneck's k×k conv. */
    public record Attn(String type, Double rdRatio) {
    }

    /** A self-attention layer's type and constructor arguments, defaults resolved. */
    public record SelfAttn(String type, int numHeads, Integer dimHead, Integer blockSize, Integer haloSize,
                           double qkRatio, boolean qkvBias, boolean avgDown, boolean scalePosEmbed, Integer r) {
        static SelfAttn halo(int heads, Integer dimHead, int blockSize, int haloSize, double qkRatio) {
            return new SelfAttn("halo", heads, dimHead, blockSize, haloSize, qkRatio, false, false, false, null);
        }

        static SelfAttn bottleneck(Integer dimHead) {
            return new SelfAttn("bottleneck", 4, dimHead, null, null, 1.0, false, false, false, null);
        }

        static SelfAttn lambda(Integer r) {
            return new SelfAttn("lambda", 4, 16, null, null, 1.0, false, false, false, r);
        }
    }

    /** One block: "bottle" or "self_attn", output channels, stride, group size (0 = dense), bottleneck ratio. */
    public record Block(String type, int c, int s, int gs, double br, boolean bottleIn, boolean linearOut,
                        Attn attn, SelfAttn selfAttn) {
    }

    /** A ByobNet resolved per block. Stem types: "tiered", "7x7", "3x3"; stem pool "maxpool" or "". */
    public record Config(int imgSize, int inChans, int numClasses, String stemType, String stemPool, int stemChs,
                         String downsample, String act, int numFeatures, List<List<Block>> stages) implements ImageConfig {
        public Config {
            stages = List.copyOf(stages.stream().map(List::copyOf).toList());
        }

        public Config withImageSize(int size) {
            return new Config(size, inChans, numClasses, stemType, stemPool, stemChs, downsample, act, numFeatures, stages);
        }
    }

    // ------------------------------------------------------------------ variants as byoanet.py writes them

    /** A stage entry before expansion: {@code d} blocks of one type; a null self-attention means the model's. */
    private record Spec(String type, int d, int c, int s, int gs, double br, SelfAttn selfAttn) {
    }

    private static List<Spec> blocks(String type, int d, int c, int s, int gs, double br) {
        return List.of(new Spec(type, d, c, s, gs, br, null));
    }

    /** timm's interleave_blocks: {@code types[1]} at the indices in {@code every}. */
    private static List<Spec> interleave(String[] types, int d, int[] every, int c, int s, int gs, double br, SelfAttn sa) {
        List<Integer> at = new ArrayList<>();
        if (every.length == 1 && every[0] < 0) { // an int: every -n-1
            int n = -every[0] - 1;
            for (int i = n; i < d; i += n + 1) at.add(i);
            if (at.isEmpty()) at.add(d - 1);
        } else {
            for (int e : every) at.add(e);
        }
        List<Spec> out = new ArrayList<>();
        for (int i = 0; i < d; i++) out.add(new Spec(at.contains(i) ? types[1] : types[0], 1, c, s, gs, br, sa));
        return out;
    }

    private static final String[] BS = {"bottle", "self_attn"};

    private static int[] every(int n) {
        return new int[]{-n - 1};
    }

    private static List<Spec> il(int d, int[] every, int c, int s, int gs, double br, SelfAttn sa) {
        return interleave(BS, d, every, c, s, gs, br, sa);
    }

    private static Config model(int img, String stemType, String stemPool, int stemChs, String downsample, String act,
                                int numFeatures, Attn attn, SelfAttn selfAttn, boolean bottleIn, boolean linearOut,
                                List<List<Spec>> stages) {
        List<List<Block>> out = new ArrayList<>();
        for (List<Spec> stage : stages) {
            List<Block> bs = new ArrayList<>();
            int stride = stage.get(0).s();
            for (Spec sp : stage) {
                for (int j = 0; j < sp.d(); j++) {
                    boolean sa = sp.type().equals("self_attn");
                    SelfAttn layer = sp.selfAttn() != null ? sp.selfAttn() : selfAttn;
                    bs.add(new Block(sp.type(), sp.c(), bs.isEmpty() ? stride : 1, sp.gs(), sp.br(), bottleIn, linearOut,
                            sa ? null : attn, sa ? layer : null));
                }
            }
            out.add(bs);
        }
        return new Config(img, 3, 1000, stemType, stemPool, stemChs, downsample, act, numFeatures, out);
    }

    public static final Map<String, Config> VARIANTS;
    private static final Map<String, Preprocessing> PRE = new LinkedHashMap<>();

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        Attn se = new Attn("se", 1.0 / 16), eca = new Attn("eca", null);
        SelfAttn bot = SelfAttn.bottleneck(null);
        // BoTNet
        m.put("botnet26t_256", model(256, "tiered", "maxpool", 64, "conv1x1", "relu", 0, null, bot, false, false, List.of(
                blocks("bottle", 2, 256, 1, 0, 0.25), blocks("bottle", 2, 512, 2, 0, 0.25),
                il(2, every(1), 1024, 2, 0, 0.25, null), blocks("self_attn", 2, 2048, 2, 0, 0.25))));
        m.put("sebotnet33ts_256", model(256, "tiered", "", 64, "conv1x1", "silu", 1280, se, bot, false, false, List.of(
                blocks("bottle", 2, 256, 1, 0, 0.25), il(3, new int[]{2}, 512, 2, 0, 0.25, null),
                il(3, new int[]{2}, 1024, 2, 0, 0.25, null), blocks("self_attn", 2, 1536, 2, 0, 0.333))));
        m.put("botnet50ts_256", model(256, "tiered", "maxpool", 64, "conv1x1", "silu", 0, null, bot, false, false, List.of(
                blocks("bottle", 3, 256, 1, 0, 0.25), il(4, every(4), 512, 2, 0, 0.25, null),
                il(6, every(1), 1024, 2, 0, 0.25, null), il(3, every(1), 2048, 2, 0, 0.25, null))));
        m.put("eca_botnext26ts_256", model(256, "tiered", "maxpool", 64, "conv1x1", "silu", 0, eca, SelfAttn.bottleneck(16),
                false, false, List.of(
                        blocks("bottle", 2, 256, 1, 16, 0.25), blocks("bottle", 2, 512, 2, 16, 0.25),
                        il(2, every(1), 1024, 2, 16, 0.25, null), blocks("self_attn", 2, 2048, 2, 16, 0.25))));
        // HaloNet
        m.put("halonet_h1", model(256, "7x7", "maxpool", 64, "conv1x1", "relu", 0, null, SelfAttn.halo(8, null, 8, 3, 1.0),
                false, false, List.of(
                        blocks("self_attn", 3, 64, 1, 0, 1.0), blocks("self_attn", 3, 128, 2, 0, 1.0),
                        blocks("self_attn", 10, 256, 2, 0, 1.0), blocks("self_attn", 3, 512, 2, 0, 1.0))));
        m.put("halonet26t", model(256, "tiered", "maxpool", 64, "conv1x1", "relu", 0, null, SelfAttn.halo(8, null, 8, 2, 1.0),
                false, false, List.of(
                        blocks("bottle", 2, 256, 1, 0, 0.25), blocks("bottle", 2, 512, 2, 0, 0.25),
                        il(2, every(1), 1024, 2, 0, 0.25, null), blocks("self_attn", 2, 2048, 2, 0, 0.25))));
        m.put("sehalonet33ts", model(256, "tiered", "", 64, "conv1x1", "silu", 1280, se, SelfAttn.halo(8, null, 8, 3, 1.0),
                false, false, List.of(
                        blocks("bottle", 2, 256, 1, 0, 0.25), il(3, new int[]{2}, 512, 2, 0, 0.25, null),
                        il(3, new int[]{2}, 1024, 2, 0, 0.25, null), blocks("self_attn", 2, 1536, 2, 0, 0.333))));
        m.put("halonet50ts", model(256, "tiered", "maxpool", 64, "conv1x1", "silu", 0, null, SelfAttn.halo(8, null, 8, 3, 1.0),
                false, false, List.of(
                        blocks("bottle", 3, 256, 1, 0, 0.25), il(4, every(4), 512, 2, 0, 0.25, SelfAttn.halo(4, null, 8, 3, 1.0)),
                        il(6, every(1), 1024, 2, 0, 0.25, null), il(3, every(1), 2048, 2, 0, 0.25, null))));
        m.put("eca_halonext26ts", model(256, "tiered", "maxpool", 64, "conv1x1", "silu", 0, eca, SelfAttn.halo(8, 16, 8, 2, 1.0),
                false, false, List.of(
                        blocks("bottle", 2, 256, 1, 16, 0.25), blocks("bottle", 2, 512, 2, 16, 0.25),
                        il(2, every(1), 1024, 2, 16, 0.25, null), blocks("self_attn", 2, 2048, 2, 16, 0.25))));
        // Lambda ResNets
        m.put("lambda_resnet26t", model(256, "tiered", "maxpool", 64, "conv1x1", "relu", 0, null, SelfAttn.lambda(9),
                false, false, List.of(
                        blocks("bottle", 2, 256, 1, 0, 0.25), blocks("bottle", 2, 512, 2, 0, 0.25),
                        il(2, every(1), 1024, 2, 0, 0.25, null), blocks("self_attn", 2, 2048, 2, 0, 0.25))));
        m.put("lambda_resnet50ts", model(256, "tiered", "maxpool", 64, "conv1x1", "silu", 0, null, SelfAttn.lambda(9),
                false, false, List.of(
                        blocks("bottle", 3, 256, 1, 0, 0.25), il(4, every(4), 512, 2, 0, 0.25, null),
                        il(6, every(1), 1024, 2, 0, 0.25, null), il(3, every(1), 2048, 2, 0, 0.25, null))));
        m.put("lambda_resnet26rpt_256", model(256, "tiered", "maxpool", 64, "conv1x1", "relu", 0, null, SelfAttn.lambda(null),
                false, false, List.of(
                        blocks("bottle", 2, 256, 1, 0, 0.25), blocks("bottle", 2, 512, 2, 0, 0.25),
                        il(2, every(1), 1024, 2, 0, 0.25, null), blocks("self_attn", 2, 2048, 2, 0, 0.25))));
        // experimental mixes
        m.put("haloregnetz_b", model(224, "3x3", "", 32, "", "silu", 1536, new Attn("se", 0.25),
                SelfAttn.halo(8, null, 7, 2, 0.33), true, true, List.of(
                        blocks("bottle", 2, 48, 2, 16, 3), blocks("bottle", 6, 96, 2, 16, 3),
                        il(12, every(3), 192, 2, 16, 3, null), blocks("self_attn", 2, 288, 2, 16, 3))));
        m.put("lamhalobotnet50ts_256", model(256, "tiered", "", 64, "conv1x1", "silu", 0, null, null, false, false, List.of(
                blocks("bottle", 3, 256, 1, 0, 0.25),
                il(4, every(1), 512, 2, 0, 0.25, SelfAttn.lambda(13)),
                il(6, every(1), 1024, 2, 0, 0.25, SelfAttn.halo(8, null, 8, 3, 1.0)),
                il(3, every(1), 2048, 2, 0, 0.25, bot))));
        m.put("halo2botnet50ts_256", model(256, "tiered", "", 64, "conv1x1", "silu", 0, null, null, false, false, List.of(
                blocks("bottle", 3, 256, 1, 0, 0.25),
                il(4, every(1), 512, 2, 0, 0.25, SelfAttn.halo(8, null, 8, 3, 1.0)),
                il(6, every(1), 1024, 2, 0, 0.25, SelfAttn.halo(8, null, 8, 3, 1.0)),
                il(3, every(1), 2048, 2, 0, 0.25, bot))));
        VARIANTS = Collections.unmodifiableMap(m);
        // timm's pretrained cfgs: bicubic, ImageNet mean/std unless noted
        for (String n : m.keySet()) {
            double crop = switch (n) {
                case "sebotnet33ts_256", "sehalonet33ts", "halonet50ts", "eca_halonext26ts", "lambda_resnet26t",
                     "lambda_resnet26rpt_256", "haloregnetz_b" -> 0.94;
                default -> 0.95;
            };
            Config c = m.get(n);
            PRE.put(n, n.equals("haloregnetz_b")
                    ? new Preprocessing(new int[]{3, c.imgSize(), c.imgSize()}, new double[]{0.5, 0.5, 0.5},
                            new double[]{0.5, 0.5, 0.5}, crop, "bicubic")
                    : Preprocessing.imagenet(c.imgSize(), crop, "bicubic"));
        }
    }

    public ByoaNet(String name, Config cfg, Preprocessing pre) {
        super("byoanet", name, cfg, pre);
    }

    public static ByoaNet variant(String name) {
        Config c = lookup(VARIANTS, "byoanet", name);
        return new ByoaNet(name, c, PRE.get(name));
    }

    /** A variant at another input size (square), where its layers allow it: see {@link #atSize}. */
    public static ByoaNet variant(String name, int imgSize) {
        return variant(name).atSize(imgSize, imgSize);
    }

    /**
     * This model at another square size, where its layers allow it (an error naming the block,
     * the rule and the nearest valid sizes otherwise): halo blocks need every map they see to be a
     * multiple of their block size (as timm's HaloAttn asserts); bottleneck attention and
     * relative-position lambdas have position tables sized for the card's map, so models with
     * them run only at the card's size. Convolutions, pools and lambda layers with a position
     * conv follow any size (stride-2 convs and the stem pool round up, 2×2 average pools down).
     */
    @Override
    public ByoaNet atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "a ByobNet configuration has one image size (square inputs only)", 1);
        String problem = sizeProblem(height);
        if (problem != null) {
            String hint = nearestValidSizes(height);
            throw new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": " + problem + (hint.isEmpty() ? "" : " (e.g. " + hint + ")"));
        }
        return new ByoaNet(name, cfg.withImageSize(height), preprocessingAt(height, width));
    }

    /** Why this model cannot run at {@code size}, or null: walks the map size through stem and blocks. */
    private String sizeProblem(int size) {
        if (size < 1) return "the size must be positive";
        boolean pool = cfg.stemPool().equals("maxpool");
        int m = ceilHalf(size);                                   // the stem's first stride-2 conv
        if (pool || cfg.stemType().equals("tiered")) m = ceilHalf(m);  // max pool, or the tiered stem's strided conv3
        for (int i = 0; i < cfg.stages().size(); i++) {
            List<Block> stage = cfg.stages().get(i);
            for (int j = 0; j < stage.size(); j++) {
                Block b = stage.get(j);
                SelfAttn sa = b.selfAttn();
                if (sa == null) {
                    if (b.s() == 2) m = ceilHalf(m);
                    continue;
                }
                String at = "stages." + i + "." + j;
                switch (sa.type()) {
                    case "halo" -> {
                        if (m % sa.blockSize() != 0) {
                            return at + " sees a " + m + "x" + m + " map: halo attention needs a feature map that is a multiple of its block size "
                                    + sa.blockSize();
                        }
                        if (b.s() == 2) m = m / 2;   // query striding: m is a multiple of the even block; the 2x2 avg pool path floors
                    }
                    case "bottleneck" -> {
                        return at + " has bottleneck attention, whose relative position tables are sized for the "
                                + cfg.imgSize() + "x" + cfg.imgSize() + " input its weights were made for";
                    }
                    case "lambda" -> {
                        if (sa.r() == null) {
                            return at + " is a lambda layer with a relative position table sized for the "
                                    + cfg.imgSize() + "x" + cfg.imgSize() + " input its weights were made for";
                        }
                        if (b.s() == 2) m = m / 2;
                    }
                    default -> throw new IllegalArgumentException("self-attention layer '" + sa.type() + "'");
                }
                if (m < 1) return at + " would see an empty map";
            }
        }
        return null;
    }

    private static int ceilHalf(int m) {
        return (m + 1) / 2;
    }

    /** The nearest valid multiples of the network's total reduction below and above {@code size}, as "AxA or BxB". */
    private String nearestValidSizes(int size) {
        List<FeaturePoint> pts = featurePoints();
        int r = pts.get(pts.size() - 1).reduction();
        List<String> out = new ArrayList<>();
        for (int s = size / r * r; s >= r; s -= r) {
            if (sizeProblem(s) == null) {
                out.add(s + "x" + s);
                break;
            }
        }
        for (int s = (size / r + 1) * r; s <= size + 64 * r; s += r) {
            if (sizeProblem(s) == null) {
                out.add(s + "x" + s);
                break;
            }
        }
        return String.join(" or ", out);
    }

    /** One map timm's feature_info lists: {@code at} is stem_mid, stem, stage (with its index) or final. */
    private record FeaturePoint(String at, int stage, int channels, int reduction) {
    }

    /**
     * The maps timm's ByobNet lists in feature_info (what features_only returns), in order: the
     * stem's stride-2 map where the stem has one inside it (the conv before its max pool, or the
     * tiered stem's conv2 before its strided conv3), then the map entering each stage that
     * strides (the stem's output or the previous stage's), then final_conv's output (the last
     * stage's where there is no final conv).
     */
    private List<FeaturePoint> featurePoints() {
        List<FeaturePoint> pts = new ArrayList<>();
        boolean pool = cfg.stemPool().equals("maxpool"), tiered = cfg.stemType().equals("tiered");
        if (pool) pts.add(new FeaturePoint("stem_mid", -1, cfg.stemChs(), 2));
        else if (tiered) pts.add(new FeaturePoint("stem_mid", -1, cfg.stemChs() / 2, 2));
        int red = pool || tiered ? 4 : 2;
        FeaturePoint prev = new FeaturePoint("stem", -1, cfg.stemChs(), red);
        for (int i = 0; i < cfg.stages().size(); i++) {
            List<Block> stage = cfg.stages().get(i);
            int stride = stage.get(0).s();
            if (stride != 1) pts.add(prev);
            red *= stride;
            prev = new FeaturePoint("stage", i, stage.get(stage.size() - 1).c(), red);
        }
        pts.add(new FeaturePoint("final", -1, cfg.numFeatures() > 0 ? cfg.numFeatures() : prev.channels(), red));
        return pts;
    }

    /** The pre-logits vector (forward_head(pre_logits=True): the pooled final_conv output) and timm's feature_info maps. */
    @Override
    public Backbone backbone() {
        List<FeaturePoint> pts = featurePoints();
        return Backbone.of(pts.get(pts.size() - 1).channels(), pts.stream().mapToInt(FeaturePoint::channels).toArray(),
                pts.stream().mapToInt(FeaturePoint::reduction).toArray());
    }

    /** Marks {@code x} if it is one of the feature_info maps. */
    private void mark(Taps taps, String at, int stage, Value x) {
        List<FeaturePoint> pts = featurePoints();
        for (int i = 0; i < pts.size(); i++) {
            if (pts.get(i).at().equals(at) && pts.get(i).stage() == stage) taps.feature(i, x);
        }
    }


    // ------------------------------------------------------------------ forward

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Taps taps = Taps.of(g);
        Value x = stem(w.scope("stem"), image, taps);
        mark(taps, "stem", -1, x);
        for (int i = 0; i < cfg.stages().size(); i++) {
            List<Block> stage = cfg.stages().get(i);
            for (int j = 0; j < stage.size(); j++) {
                Scope b = w.scope("stages." + i, j);
                Block blk = stage.get(j);
                final Value in = x;
                x = g.named("stages." + i + "." + j, () -> block(b, in, blk));
            }
            mark(taps, "stage", i, x);
        }
        int c = Math.toIntExact(x.dim(1));
        if (cfg.numFeatures() > 0) {
            x = Layers.convNormAct(w.scope("final_conv"), x, cfg.numFeatures(), 1, 1, 1, cfg.act());
            c = cfg.numFeatures();
        }
        mark(taps, "final", -1, x);
        Value pooled = g.reshape(g.globalAvgPool(x), -1, c);
        taps.embedding(pooled);                                 // forward_head(pre_logits=True)
        Scope fc = w.scope("head.fc");
        return g.gemm(pooled, fc.param("weight", cfg.numClasses(), c), fc.param("bias", cfg.numClasses()), true);
    }

    private Value stem(Scope s, Value x, Taps taps) {
        Graph g = s.graph();
        int chs = cfg.stemChs();
        boolean pool = cfg.stemPool().equals("maxpool");
        if (!pool && !cfg.stemPool().isEmpty()) throw new IllegalArgumentException("stem pool '" + cfg.stemPool() + "' (expected maxpool or none)");
        switch (cfg.stemType()) {
            case "tiered" -> {
                int[] outs = {3 * chs / 8, chs / 2, chs};
                for (int i = 0; i < 3; i++) {
                    int stride = i == 0 || (i == 2 && !pool) ? 2 : 1;
                    if (i == 2 && !pool) mark(taps, "stem_mid", -1, x);   // conv2's map, before the strided conv3
                    x = Layers.convNormAct(s.scope("conv" + (i + 1)), x, outs[i], 3, stride, 1, cfg.act());
                }
            }
            case "7x7", "3x3" -> {
                int k = cfg.stemType().equals("7x7") ? 7 : 3;
                x = Layers.convNormAct(pool ? s.scope("conv1") : s, x, chs, k, 2, 1, cfg.act());
            }
            default -> throw new IllegalArgumentException("stem type '" + cfg.stemType() + "' (expected tiered, 7x7 or 3x3)");
        }
        if (pool) mark(taps, "stem_mid", -1, x);                 // the map before the max pool
        return pool ? g.maxPool2d(x, new int[]{3, 3}, new int[]{2, 2}, new int[]{1, 1, 1, 1}, false) : x;
    }

    private Value block(Scope s, Value x, Block b) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1));
        int mid = Layers.makeDivisible((b.bottleIn() ? in : b.c()) * b.br(), 8);
        int groups = b.gs() == 0 ? 1 : mid / b.gs();
        if (b.gs() != 0 && mid % b.gs() != 0) throw new IllegalArgumentException(mid + " channels do not split into groups of " + b.gs());
        Value h = Layers.convNormAct(s.scope("conv1_1x1"), x, mid, 1, 1, 1, cfg.act());
        switch (b.type()) {
            case "bottle" -> {
                h = Layers.convNormAct(s.scope("conv2_kxk"), h, mid, 3, b.s(), groups, cfg.act());
                if (b.attn() != null) h = Layers.channelGate(s.scope("attn"), h, b.attn());
            }
            case "self_attn" -> {
                int feat = Math.toIntExact(h.dim(2));
                h = SelfAttention.apply(s.scope("self_attn"), h, b.selfAttn(), b.s());
                h = Layers.act(g, Layers.batchNorm(s.scope("post_attn"), h), cfg.act());
                if (feat != Math.toIntExact(h.dim(2)) * b.s()) throw new IllegalStateException("stride bookkeeping");
            }
            default -> throw new IllegalArgumentException("block type '" + b.type() + "' (expected bottle or self_attn)");
        }
        h = Layers.convNormAct(s.scope("conv3_1x1"), h, b.c(), 1, 1, 1, null);
        boolean reshapes = in != b.c() || b.s() != 1;
        if (!reshapes) {
            h = g.add(h, x);
        } else if (!cfg.downsample().isEmpty()) {
            if (!cfg.downsample().equals("conv1x1")) throw new IllegalArgumentException("downsample '" + cfg.downsample() + "'");
            h = g.add(h, Layers.convNormAct(s.scope("shortcut"), x, b.c(), 1, b.s(), 1, null));
        }
        return b.linearOut() ? h : Layers.act(g, h, cfg.act());
    }

    @Override
    public String toString() {
        return name + " " + cfg.stemType() + " stem, " + cfg.stages().size() + " stages";
    }
}
