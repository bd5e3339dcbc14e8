package org.attnzoo.zoo.family.affnet;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.RealDft2d;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;
import org.attnzoo.zoo.arch.Taps;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * AFFNet (Huang et al., "Adaptive Frequency Filters As Efficient Global Token Mixers", ICCV 2023),
 * as the authors' {@code affnet/models/classification/affnet.py} in microsoft/TokenMixers: a
 * MobileViT-style network — a 3×3/2 conv stem, MobileNetV2 inverted residuals (layers 1–2), then
 * in layers 3–5 a stride-2 inverted residual and an AFF block; a 1×1 expansion, mean pool, Linear.
 *
 * <p>An AFF block runs its blocks on the map, then a norm, a 1×1 Conv-BN projection and (unless
 * the layer says no_fuse) a 1×1 Conv-BN-act fusion of {@code [input, projection]}. A block is
 * {@code y = IR(n1(x))} (an inverted residual with its own skip), then
 * {@code x + AFNO(n2(y))}, where the adaptive frequency filter is
 * {@code n + irfft2(softshrink(MLP(rfft2(n))) ⊙ rfft2(n))} (orthonormal): the spectrum's real and
 * imaginary parts per channel block (8 blocks) go through a complex two-layer block-diagonal MLP
 * with the activation after the first layer — here two grouped 1×1 convs on the stacked parts —
 * then ONNX Shrink, the complex product with the spectrum and the inverse transform. The
 * transforms are {@link RealDft2d}'s constant DFT matrices (as HorNet's global filter).
 *
 * <p>The run configurations (yaml) are not in the repository; what they would set is a
 * {@link Config} field: the activation ({@code model.activation.name}, used by every conv layer
 * and the filter), the blocks' norm ({@code attn_norm_layer}: {@code layer_norm} — per pixel over
 * channels, dividing by {@code std + eps} — or {@code layer_norm_2d}, GroupNorm with one group) and
 * the softshrink threshold. The registered variants use the values the code falls back to (see
 * {@link #variant}). Every BatchNorm folds into its conv.
 */
public final class AFFNet extends FamilyArchitecture<AFFNet.Config> {

    static final Set<String> ACTIVATIONS = Set.of("relu", "swish");
    static final Set<String> ATTN_NORMS = Set.of("layer_norm", "layer_norm_2d");
    /** The filter's channel blocks (the AFF block passes num_blocks=8). */
    static final int FILTER_BLOCKS = 8;

    /**
     * The per-mode layer table of {@code config/affnet.get_configuration} ({@code channels},
     * {@code ffnDims}, {@code blocks}, {@code fusion}: layers 3–5; transformer channels equal the
     * layer's channels in every mode) and the settings of the run configuration.
     */
    public record Config(int imgSize, int numClasses, int layer1, int layer2, int layer1Blocks, int layer2Blocks,
                         int[] channels, int[] ffnDims, int[] blocks, boolean[] fusion, double expandRatio,
                         String activation, String attnNorm, double sparsityThreshold) implements ImageConfig {
        public Config {
            if (channels.length != 3 || ffnDims.length != 3 || blocks.length != 3 || fusion.length != 3) {
                throw new IllegalArgumentException("AFFNet needs 3 AFF layers: channels " + Arrays.toString(channels) + ", ffnDims "
                        + Arrays.toString(ffnDims) + ", blocks " + Arrays.toString(blocks) + ", fusion " + Arrays.toString(fusion));
            }
            for (int c : channels) {
                if (c % FILTER_BLOCKS != 0) throw new IllegalArgumentException("AFFNet channels " + c + " not divisible by the filter's " + FILTER_BLOCKS + " blocks");
            }
            if (!ACTIVATIONS.contains(activation)) throw new IllegalArgumentException("AFFNet activation '" + activation + "': expected one of " + ACTIVATIONS);
            if (!ATTN_NORMS.contains(attnNorm)) throw new IllegalArgumentException("AFFNet attnNorm '" + attnNorm + "': expected one of " + ATTN_NORMS);
        }

        @Override
        public int inChans() {
            return 3;
        }
    }

    private static Config mode(int l1, int l2, int[] ch, int[] ffn, double exp) {
        return new Config(256, 1000, l1, l2, 1, 3, ch, ffn, new int[]{2, 4, 3}, new boolean[]{true, true, true}, exp,
                "relu", "layer_norm", 0.01);
    }

    /** The three modes the authors' argument parser offers: AFFNet-ET, AFFNet-T and AFFNet. */
    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("affnet_xx_small", mode(32, 48, new int[]{64, 104, 144}, new int[]{128, 208, 288}, 2));
        m.put("affnet_x_small", mode(32, 48, new int[]{96, 160, 192}, new int[]{192, 320, 384}, 4));
        m.put("affnet_small", mode(32, 64, new int[]{128, 256, 320}, new int[]{256, 512, 640}, 4));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public AFFNet(String name, Config cfg, Preprocessing pre) {
        super("affnet", name, cfg, pre);
    }

    /**
     * A registered mode with the settings its run configuration would give; that configuration is
     * not public, so: ReLU (the argument parser's {@code model.activation.name}), {@code layer_norm}
     * blocks' norm (the parser's {@code attn-norm-layer}), BatchNorm conv layers (the model code's
     * fallback), threshold 0.01, 256×256 inputs (the README). Preprocessing: the authors' loader
     * divides by 255 with no mean/std normalisation; resize the short side to 256 (the parser's
     * resize default, bilinear) and centre crop 256.
     */
    public static AFFNet variant(String name) {
        Config c = lookup(VARIANTS, "AFFNet", name);
        return new AFFNet(name, c, new Preprocessing(new int[]{3, c.imgSize(), c.imgSize()}, new double[]{0, 0, 0}, new double[]{1, 1, 1},
                1.0, "bilinear"));
    }

    /** The entry of the authors' training checkpoint ({@code checkpoint.pt}) that holds the model. */
    static final String TRAINING_ENTRY = "model_state_dict";
    private static final String FIRST_KEY = "conv_1.block.conv.weight";

    /**
     * A training {@code checkpoint.pt} opened without a key (its tensors under
     * {@code model_state_dict.} and {@code ema_state_dict.}) is read from {@code model_state_dict},
     * as the authors' resume does; bare state dicts (their {@code checkpoint_best.pt},
     * {@code checkpoint_ema_best.pt}) pass unchanged.
     */
    @Override
    public StateDict adapt(StateDict upstream) {
        String p = TRAINING_ENTRY + ".";
        if (upstream.contains(FIRST_KEY) || !upstream.contains(p + FIRST_KEY)) return upstream;
        Set<String> keys = new LinkedHashSet<>();
        for (String k : upstream.keys()) if (k.startsWith(p)) keys.add(k.substring(p.length()));
        return new StateDict() {
            @Override
            public Set<String> keys() {
                return keys;
            }

            @Override
            public TensorData get(String key) {
                return keys.contains(key) ? upstream.get(p + key) : null;
            }

            @Override
            public String source() {
                return upstream.source() + " [" + TRAINING_ENTRY + "]";
            }
        };
    }

    /**
     * The pooled vector {@code classifier.fc} reads (mean pool of the 1×1 expansion, min(4·C, 960)
     * wide) and the five maps of the authors' backbone interface,
     * {@code BaseEncoder.extract_end_points_all} (what their detection and segmentation models
     * call): {@code out_l1 .. out_l5}, the outputs of layer_1 .. layer_5 at strides 2, 4, 8, 16,
     * 32 (Mask R-CNN takes out_l2 .. out_l5, indices 1–4). Stride-2 convs pad, so maps are ⌈H/r⌉.
     */
    @Override
    public Backbone backbone() {
        int[] c = cfg.channels();
        return Backbone.of(Math.min(4 * c[2], 960), new int[]{cfg.layer1(), cfg.layer2(), c[0], c[1], c[2]}, new int[]{2, 4, 8, 16, 32});
    }

    /**
     * Any square size: the convolutions pad, and the frequency filter transforms whatever map it
     * is given (its weights act per frequency channel, not per frequency position).
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "AFFNet's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new AFFNet(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }


    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Value x = convLayer(w.scope("conv_1"), image, 16, 3, 2, 1, true);
        int in = 16;
        Taps taps = Taps.of(g);                                 // extract_end_points_all: out_l1 .. out_l5
        for (int i = 0; i < cfg.layer1Blocks(); i++) {
            x = invertedResidual(w.scope("layer_1", i), x, in, cfg.layer1(), 1, cfg.expandRatio());
            in = cfg.layer1();
        }
        taps.feature(0, x);
        for (int i = 0; i < cfg.layer2Blocks(); i++) {
            x = invertedResidual(w.scope("layer_2", i), x, in, cfg.layer2(), i == 0 ? 2 : 1, cfg.expandRatio());
            in = cfg.layer2();
        }
        taps.feature(1, x);
        for (int l = 0; l < 3; l++) {
            Scope layer = w.scope("layer_" + (l + 3));
            int c = cfg.channels()[l];
            x = invertedResidual(layer.scope("0"), x, in, c, 2, cfg.expandRatio());
            in = c;
            final Value xin = x;
            final int li = l;
            x = g.named("layer_" + (l + 3) + ".1", () -> affBlock(layer.scope("1"), xin, li));
            taps.feature(l + 2, x);
        }
        int exp = Math.min(4 * in, 960);
        x = convLayer(w.scope("conv_1x1_exp"), x, exp, 1, 1, 1, true);
        Value pooled = g.reshape(g.globalAvgPool(x), -1, exp);
        taps.embedding(pooled);                                 // classifier.global_pool: what classifier.fc reads
        Scope fc = w.scope("classifier.fc");
        return g.gemm(pooled, fc.param("weight", cfg.numClasses(), exp), fc.param("bias", cfg.numClasses()), true);
    }

    /** The authors' make_divisible (divisor 8): round to the nearest multiple, never more than 10 % down. */
    static int makeDivisible(double v) {
        int nv = Math.max(8, (int) (v + 4) / 8 * 8);
        if (nv < 0.9 * v) nv += 8;
        return nv;
    }

    private Value act(Graph g, Value x) {
        return cfg.activation().equals("swish") ? g.silu(x) : g.relu(x);
    }

    /** ConvLayer: conv without bias (padding k/2), BatchNorm (folded), optionally the activation. */
    private Value convLayer(Scope s, Value x, int out, int k, int stride, int groups, boolean useAct) {
        Value y = BatchNorm.convFolded(s.scope("block.conv"), s.scope("block.norm"), x, out, k, stride, groups, false, BatchNorm.DEFAULT_EPS);
        return useAct ? act(s.graph(), y) : y;
    }

    /** MobileNetV2 inverted residual: 1×1 expansion (if the ratio is not 1), depthwise 3×3, 1×1 reduction; skip when shapes allow. */
    private Value invertedResidual(Scope s, Value x, int in, int out, int stride, double ratio) {
        int hidden = makeDivisible(Math.rint(in * ratio));
        Scope b = s.scope("block");
        Value y = ratio != 1 ? convLayer(b.scope("exp_1x1"), x, hidden, 1, 1, 1, true) : x;
        y = convLayer(b.scope("conv_3x3"), y, hidden, 3, stride, hidden, true);
        y = convLayer(b.scope("red_1x1"), y, out, 1, 1, 1, false);
        return stride == 1 && in == out ? s.graph().add(x, y) : y;
    }

    private Value affBlock(Scope s, Value x, int layer) {
        Graph g = s.graph();
        int c = cfg.channels()[layer], n = cfg.blocks()[layer];
        Value p = x;
        for (int j = 0; j < n; j++) {
            Scope b = s.scope("global_rep", j);
            Value y = invertedResidual(b.scope("mlp"), attnNorm(b.scope("norm1"), p, c), c, c, 1, (double) cfg.ffnDims()[layer] / c);
            p = g.add(p, filter(b.scope("filter"), attnNorm(b.scope("norm2"), y, c), c));
        }
        p = attnNorm(s.scope("global_rep", n), p, c);
        Value fm = convLayer(s.scope("conv_proj"), p, c, 1, 1, 1, false);
        return cfg.fusion()[layer] ? convLayer(s.scope("fusion"), g.concat(1, x, fm), c, 1, 1, 1, true) : fm;
    }

    /** The blocks' norm on NCHW: layer_norm (over channels, {@code (x − μ) / (σ + ε)}) or layer_norm_2d (GroupNorm, one group); eps 1e-5. */
    private Value attnNorm(Scope s, Value x, int c) {
        Graph g = s.graph();
        Value y;
        if (cfg.attnNorm().equals("layer_norm")) {
            Value d = g.sub(x, g.reduceMean(x, true, 1));
            Value sd = g.sqrt(g.reduceMean(g.mul(d, d), true, 1));
            y = g.div(d, g.add(sd, 1e-5f));
        } else {
            long h = x.dim(2), w = x.dim(3);
            Value flat = g.reshape(x, -1, 1, c * h * w);
            Value n = g.op1("InstanceNormalization", new Value[]{flat, g.constant("one", new float[]{1f}, 1), g.constant("zero", new float[]{0f}, 1)},
                    flat.dtype(), flat.shape(), Attr.f("epsilon", 1e-5f));
            y = g.reshape(n, -1, c, h, w);
        }
        float[] wt = s.floats("weight", c), bs = s.floats("bias", c);
        return g.add(g.mul(y, s.derived("weight_chw", "[C, 1, 1] for NCHW", wt, c, 1, 1)), s.derived("bias_chw", null, bs, c, 1, 1));
    }

    /**
     * AFNO2D_channelfirst: {@code x + irfft2(softshrink(MLP(X)) ⊙ X)} with {@code X = rfft2(x)}.
     * The complex block MLP runs on the parts stacked per block as {@code [re_k; im_k]}, so each
     * layer is one grouped 1×1 conv with per-group weight {@code [[W0, −W1], [W1, W0]]}.
     */
    private Value filter(Scope s, Value x, int c) {
        Graph g = s.graph();
        int h = Math.toIntExact(x.dim(2)), w = Math.toIntExact(x.dim(3)), nb = FILTER_BLOCKS, bs = c / nb;
        RealDft2d dft = new RealDft2d(h, w);
        int k = dft.bins();
        Value[] spec = dft.forward(g, x);                                                  // [B, C, h, k] each
        Value stacked = g.reshape(g.concat(2, g.reshape(spec[0], -1, nb, bs, h, k), g.reshape(spec[1], -1, nb, bs, h, k)), -1, 2L * c, h, k);
        Value o = act(g, complexLayer(s, stacked, "w1", "b1", nb, bs));
        o = complexLayer(s, o, "w2", "b2", nb, bs);
        float lambda = (float) cfg.sparsityThreshold();
        o = g.op1("Shrink", new Value[]{o}, o.dtype(), o.shape(), Attr.f("bias", lambda), Attr.f("lambd", lambda));
        Value[] parts = g.split(g.reshape(o, -1, nb, 2L * bs, h, k), 2, bs, bs);
        Value mr = g.reshape(parts[0], -1, c, h, k), mi = g.reshape(parts[1], -1, c, h, k);
        Value zr = g.sub(g.mul(mr, spec[0]), g.mul(mi, spec[1]));
        Value zi = g.add(g.mul(mr, spec[1]), g.mul(mi, spec[0]));
        return g.add(dft.inverse(g, zr, zi), x);
    }

    /** One complex block-diagonal layer ({@code w [2, nb, bs, bs]}, {@code b [2, nb, bs]}) as a grouped 1×1 conv on {@code [re_k; im_k]} stacks. */
    private static Value complexLayer(Scope s, Value x, String wName, String bName, int nb, int bs) {
        float[] wt = s.floats(wName, 2, nb, bs, bs), b = s.floats(bName, 2, nb, bs);
        int m = 2 * bs;
        float[] cw = new float[nb * m * m], cb = new float[nb * m];
        for (int blk = 0; blk < nb; blk++) {
            for (int o = 0; o < bs; o++) {
                for (int i = 0; i < bs; i++) {
                    float w0 = wt[((blk) * bs + i) * bs + o], w1 = wt[((nb + blk) * bs + i) * bs + o];
                    int base = blk * m * m;
                    cw[base + o * m + i] = w0;              // re_out from re_in
                    cw[base + o * m + bs + i] = -w1;        // re_out from im_in
                    cw[base + (bs + o) * m + i] = w1;       // im_out from re_in
                    cw[base + (bs + o) * m + bs + i] = w0;  // im_out from im_in
                }
                cb[blk * m + o] = b[blk * bs + o];
                cb[blk * m + bs + o] = b[(nb + blk) * bs + o];
            }
        }
        int[] one = {1, 1};
        return s.graph().conv2d(x, s.derived(wName + "_grouped", "[[W0, -W1], [W1, W0]] per block, as a grouped 1x1 conv", cw, (long) nb * m, m, 1, 1),
                s.derived(bName + "_grouped", null, cb, (long) nb * m), one, new int[]{0, 0, 0, 0}, one, nb);
    }

    @Override
    public String toString() {
        return name + " channels " + Arrays.toString(cfg.channels()) + " (" + cfg.activation() + ", " + cfg.attnNorm() + ")";
    }
}
