package org.attnzoo.zoo.family.eurosat;

import org.attnzoo.converters.KeyMap;
import org.attnzoo.converters.TensorViews;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The balanced multi-task attention CNN for EuroSAT (virAditya/satellite-image-classification-eurosat,
 * {@code models/balanced_12layer.py} {@code Balanced12LayerCNN}): a 3×3 conv-BN-ReLU stem and four
 * stages of residual blocks (3×3 conv-BN-ReLU, 3×3 conv-BN, attention, plus a 1×1 conv-BN or
 * identity shortcut, ReLU), global average pool, Linear.
 *
 * <p>The attention mixes, with weight {@code a = sigmoid(alpha)}, a coordinate attention
 * ({@code x · σ(conv_h(h)) · σ(conv_w(w))}, where {@code h} and {@code w} are the row and column
 * means through a shared 1×1 conv-BN-ReLU to {@code C/8}) and a squeeze-excitation
 * ({@code x · σ(W2 ReLU(W1 mean(x)))}, {@code C/16}): {@code x · (a · σ_h σ_w + (1 − a) · σ_se)}.
 * DropBlock and dropout are identities at inference; BatchNorms fold into their convs.
 */
public final class EuroSatBalanced extends FamilyArchitecture<EuroSatBalanced.Config> {

    /** Widths and block counts; the authors' class fixes them (64; 64, 128, 256, 512; 3, 3, 3, 2), reduced fixtures vary them. */
    public record Config(int imgSize, int numClasses, int stemWidth, int[] widths, int[] blocks) implements ImageConfig {
        public Config {
            if (widths.length != blocks.length) throw new IllegalArgumentException("widths and blocks differ in length");
        }

        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("eurosat_balanced_12layer", new Config(64, 10, 64, new int[]{64, 128, 256, 512}, new int[]{3, 3, 3, 2}));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public EuroSatBalanced(String name, Config cfg, Preprocessing pre) {
        super("eurosat", name, cfg, pre);
    }

    /** The authors' test transform (utils/augmentation.py): ToTensor and ImageNet mean/std on the 64×64 EuroSAT tiles. */
    public static EuroSatBalanced variant(String name) {
        Config c = lookup(VARIANTS, "EuroSAT balanced CNN", name);
        return new EuroSatBalanced(name, c, Preprocessing.imagenet(c.imgSize(), 1.0, "bilinear"));
    }

    /** {@code torch.save(model.state_dict())} keeps {@code alpha} 0-dimensional; read as {@code [1]}. */
    @Override
    public StateDict adapt(StateDict upstream) {
        return KeyMap.builder().expand(".*\\.attention\\.alpha", (k, t) -> {
            TensorData out = t.shape().length == 0 ? TensorViews.reshape(t, 1) : t;
            return Map.of(k, out);
        }).build().apply(upstream);
    }


    /** The four stages' outputs at strides 1, 2, 4, 8 (the stem keeps the size) and the pooled vector fc reads. */
    @Override
    public org.attnzoo.zoo.arch.Backbone backbone() {
        int n = cfg.widths().length;
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i == 0 ? 1 : 1 << i;
        return org.attnzoo.zoo.arch.Backbone.of(cfg.widths()[n - 1], cfg.widths(), r);
    }

    /** Any square size from 8: convolutions, strided 3x3 convs that round up, and global pooling. */
    @Override
    public org.attnzoo.zoo.arch.Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "the configuration has one image size (square inputs only)", 1);
        if (height < 8) throw badSize(height, width, "the input must be at least 8x8 (three stride-2 stages)", 8);
        return new EuroSatBalanced(name, org.attnzoo.zoo.arch.ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        Scope stem = w.scope("stem");
        Value x = g.relu(convBn(stem.scope("0"), stem.scope("1"), image, cfg.stemWidth(), 3, 1));
        int cin = cfg.stemWidth();
        org.attnzoo.zoo.arch.Taps taps = org.attnzoo.zoo.arch.Taps.of(g);
        for (int i = 0; i < cfg.widths().length; i++) {
            for (int j = 0; j < cfg.blocks()[i]; j++) {
                Scope b = w.scope("stage" + (i + 1), j);
                int stride = i == 0 || j > 0 ? 1 : 2, in = cin, out = cfg.widths()[i];
                final Value v = x;
                x = g.named("stage" + (i + 1) + "." + j, () -> block(b, v, in, out, stride));
                cin = out;
            }
            taps.feature(i, x);                  // stage{i+1}'s output (the authors' code has no backbone class)
        }
        Value pooled = g.reshape(g.globalAvgPool(x), -1, cin);
        taps.embedding(pooled);                  // what fc reads (after avgpool and flatten; dropout is identity at eval)
        Scope fc = w.scope("fc");
        return g.gemm(pooled, fc.param("weight", cfg.numClasses(), cin), fc.param("bias", cfg.numClasses()), true);
    }

    /** A bias-free conv followed by a BatchNorm, as one conv (padding {@code k/2}). */
    private static Value convBn(Scope conv, Scope bn, Value x, int out, int k, int stride) {
        return BatchNorm.convFolded(conv, bn, x, out, k, stride, 1, false, BatchNorm.DEFAULT_EPS);
    }

    private static Value conv1x1(Scope s, Value x, int out) {
        int in = Math.toIntExact(x.dim(1));
        int[] one = {1, 1};
        return s.graph().conv2d(x, s.param("weight", out, in, 1, 1), null, one, new int[]{0, 0, 0, 0}, one, 1);
    }

    private Value block(Scope b, Value x, int in, int out, int stride) {
        Graph g = b.graph();
        Value identity = stride != 1 || in != out ? convBn(b.scope("shortcut.0"), b.scope("shortcut.1"), x, out, 1, stride) : x;
        Value y = g.relu(convBn(b.scope("conv1"), b.scope("bn1"), x, out, 3, stride));
        y = convBn(b.scope("conv2"), b.scope("bn2"), y, out, 3, 1);
        y = attention(b.scope("attention"), y, out);
        return g.relu(g.add(y, identity));
    }

    /** {@code a · CoordinateAttention(x) + (1 − a) · SE(x)} as {@code x · (a · σ_h · σ_w + (1 − a) · σ_se)}. */
    private static Value attention(Scope s, Value x, int c) {
        Graph g = s.graph();
        float alpha = s.floats("alpha", 1)[0];
        float a = (float) (1.0 / (1.0 + Math.exp(-alpha)));
        // coordinate attention
        Scope ca = s.scope("coord_attention");
        int r = c / 8, h = Math.toIntExact(x.dim(2)), wd = Math.toIntExact(x.dim(3));
        Value rows = g.reduceMean(x, true, 3);                                      // [B, C, H, 1]
        Value cols = g.transpose(g.reduceMean(x, true, 2), 0, 1, 3, 2);            // [B, C, W, 1]
        Value y = g.relu(convBn(ca.scope("conv1"), ca.scope("bn1"), g.concat(2, rows, cols), r, 1, 1));
        Value[] p = g.split(y, 2, h, wd);
        Value ah = g.sigmoid(conv1x1(ca.scope("conv_h"), p[0], c));                 // [B, C, H, 1]
        Value aw = g.sigmoid(conv1x1(ca.scope("conv_w"), g.transpose(p[1], 0, 1, 3, 2), c));   // [B, C, 1, W]
        // squeeze-excitation
        Scope se = s.scope("se_attention.excitation");
        int rs = c / 16;
        Value m = g.reshape(g.globalAvgPool(x), -1, c);
        Value e = g.relu(g.gemm(m, se.scope("0").param("weight", rs, c), null, true));
        Value gate = g.reshape(g.sigmoid(g.gemm(e, se.scope("2").param("weight", c, rs), null, true)), -1, c, 1, 1);
        Value mix = g.add(g.mul(g.mul(ah, aw), a), g.mul(gate, 1f - a));
        return g.mul(x, mix);
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(cfg.widths());
    }
}
