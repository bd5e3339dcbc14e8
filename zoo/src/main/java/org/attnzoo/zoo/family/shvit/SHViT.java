package org.attnzoo.zoo.family.shvit;

import org.attnzoo.converters.KeyMap;
import org.attnzoo.converters.TensorViews;
import org.attnzoo.sdk.nn.BnLinearHead;
import org.attnzoo.sdk.nn.ConvBn;
import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * SHViT (Yun &amp; Ro, CVPR 2024): a 16× convolutional stem, three stages of blocks made of a
 * residual depthwise 3×3 Conv-BN, (in "s" stages) residual single-head self-attention on the first
 * {@code pdim} channels, and a residual Conv-BN FFN; stages are joined by a downsampling sequence
 * with an inverted-bottleneck PatchMerging (SE inside). Weight names follow timm's {@code shvit.py};
 * {@link #adapt} maps the authors' layout (ysj9909/SHViT, {@code blocks1..3}) onto them.
 *
 * <p>Build-time folding (exact up to float rounding):
 * <ul>
 *   <li>every BatchNorm into its convolution (or, in the head, into the following Linear);</li>
 *   <li>{@code x + DWConv-BN(x)} into one depthwise conv (identity added to the centre tap);</li>
 *   <li>the GroupNorm(1) affine and the {@code qk_dim^-0.5} scale into the qkv convolution, leaving
 *       only the normalisation (one InstanceNormalization over the whole {@code [pdim, H, W]} slab);</li>
 *   <li>an authors' distillation head ({@code head_dist}, averaged at eval) into the single head.</li>
 * </ul>
 */
public final class SHViT extends FamilyArchitecture<SHViT.Config> {

    /** timm's SHViT constructor arguments. */
    public record Config(int imgSize, int inChans, int numClasses, int[] embedDim, int[] partialDim, int[] qkDim,
                         int[] depth, String[] types) implements ImageConfig {
        public Config {
            int n = embedDim.length;
            if (partialDim.length != n || qkDim.length != n || depth.length != n || types.length != n) {
                throw new IllegalArgumentException("SHViT config: per-stage arrays differ in length");
            }
        }
    }

    private static Config v(int[] dims, int[] depth, int[] pdim, int img) {
        return new Config(img, 3, 1000, dims, pdim, new int[]{16, 16, 16}, depth, new String[]{"i", "s", "s"});
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("shvit_s1", v(new int[]{128, 224, 320}, new int[]{2, 4, 5}, new int[]{32, 48, 68}, 224));
        m.put("shvit_s2", v(new int[]{128, 308, 448}, new int[]{2, 4, 5}, new int[]{32, 66, 96}, 224));
        m.put("shvit_s3", v(new int[]{192, 352, 448}, new int[]{3, 5, 5}, new int[]{48, 75, 96}, 224));
        m.put("shvit_s4", v(new int[]{224, 336, 448}, new int[]{4, 7, 6}, new int[]{48, 72, 96}, 256));
        VARIANTS = java.util.Collections.unmodifiableMap(m);
    }

    public SHViT(String name, Config cfg, Preprocessing pre) {
        super("shvit", name, cfg, pre);
    }

    /** timm's pretrained cfg: ImageNet mean/std, crop 0.875, bicubic; s4 at 256². */
    public static SHViT variant(String name) {
        Config c = lookup(VARIANTS, "SHViT", name);
        return new SHViT(name, c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
    }

    // ------------------------------------------------------------------ checkpoint layouts

    /** Whether the keys are in the authors' layout ({@code blocks1.*}, ...). */
    static boolean isAuthorsLayout(StateDict sd) {
        for (String k : sd.keys()) if (k.startsWith("blocks1.")) return true;
        return false;
    }

    /**
     * The authors' keys → timm's (the rules timm's {@code checkpoint_filter_fn} documents):
     * {@code blocksN.} → {@code stages.N-1.blocks.}; in stages 2 and 3 the first three entries are
     * the downsampling sequence ({@code 0.0, 0.1, 1, 2.0, 2.1} → {@code downsample.0..4}) and the
     * remaining indices shift down by 3. Also the authors' loader quirk: 1×1 conv kernels stored 2-D
     * get their two trailing singleton dims back (applied to either layout).
     */
    KeyMap authorsKeyMap() {
        KeyMap.Builder b = KeyMap.builder();
        b.rename("blocks1\\.(.*)", "stages.0.blocks.$1");
        for (int i = 2; i <= cfg.embedDim().length; i++) {
            String st = "stages." + (i - 1) + ".";
            b.rename("blocks" + i + "\\.0\\.0\\.(.*)", st + "downsample.0.$1");
            b.rename("blocks" + i + "\\.0\\.1\\.(.*)", st + "downsample.1.$1");
            b.rename("blocks" + i + "\\.1\\.(.*)", st + "downsample.2.$1");
            b.rename("blocks" + i + "\\.2\\.0\\.(.*)", st + "downsample.3.$1");
            b.rename("blocks" + i + "\\.2\\.1\\.(.*)", st + "downsample.4.$1");
            for (int j = 0; j < cfg.depth()[i - 1]; j++) {
                b.rename("blocks" + i + "\\." + (j + 3) + "\\.(.*)", st + "blocks." + j + ".$1");
            }
        }
        return b.build();
    }

    static KeyMap pointwiseKernels() {
        return KeyMap.builder().expand(".*\\.(c|fc1|fc2)\\.weight", (k, t) -> {
            long[] s = t.shape();
            TensorData out = s.length == 2 ? TensorViews.reshape(t, s[0], s[1], 1, 1) : t;
            return Map.of(k, out);
        }).build();
    }

    @Override
    public StateDict adapt(StateDict upstream) {
        KeyMap m = isAuthorsLayout(upstream) ? authorsKeyMap().andThen(pointwiseKernels()) : pointwiseKernels();
        return m.apply(upstream);
    }


    // ------------------------------------------------------------------ backbone

    /**
     * The pre-logits vector (the pooled map, which the head's BatchNorm1d + Linear, and an authors'
     * head_dist, read; timm's forward_head(pre_logits=True)) and the three stage maps at strides
     * 16, 32, 64 as the authors' downstream backbone returns them ({@code downstream/shvit.py}
     * Partial_ViT_Exp: the outputs of blocks1, blocks2, blocks3, each stage after its leading
     * downsampling; no extra norms).
     */
    @Override
    public Backbone backbone() {
        return Backbone.strided(cfg.embedDim(), 16);
    }

    /**
     * Any square size: convolutions and single-head attention over the whole map, no position
     * bias (padded stride-2 convs round odd maps up).
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "SHViT's configuration has one image size (square inputs only)", 1);
        if (height < 1) throw badSize(height, width, "the size must be positive", 1);
        return new SHViT(name, ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    // ------------------------------------------------------------------ forward

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int[] dims = cfg.embedDim();
        int stem = dims[0];
        Scope pe = w.scope("patch_embed");
        Value x = image;
        int[] outs = {stem / 8, stem / 4, stem / 2, stem};
        for (int i = 0; i < 4; i++) {
            x = ConvBn.apply(pe.scope(Integer.toString(2 * i)), x, outs[i], 3, 2, 1);
            if (i < 3) x = g.relu(x);
        }
        int prev = stem;
        Taps taps = Taps.of(g);
        for (int i = 0; i < dims.length; i++) {
            Scope st = w.scope("stages", i);
            int dim = dims[i];
            final Value in = x;
            final int p = prev, si = i;
            x = g.named("stages." + i, () -> stage(st, in, p, dim, si));
            taps.feature(i, x);                                   // the authors' blocks{i+1} output
            prev = dim;
        }
        return head(w, x, prev);
    }

    private Value stage(Scope st, Value x, int prev, int dim, int i) {
        Graph g = st.graph();
        if (prev != dim) {
            Scope ds = st.scope("downsample");
            x = ConvBn.residualDepthwise(ds.scope("0.m"), x, 3);
            x = g.add(x, ffn(ds.scope("1.m"), x, prev));
            x = patchMerging(ds.scope("2"), x, dim);
            x = ConvBn.residualDepthwise(ds.scope("3.m"), x, 3);
            x = g.add(x, ffn(ds.scope("4.m"), x, dim));
        }
        for (int j = 0; j < cfg.depth()[i]; j++) {
            Scope b = st.scope("blocks", j);
            x = ConvBn.residualDepthwise(b.scope("conv.m"), x, 3);
            if (cfg.types()[i].equals("s")) {
                x = g.add(x, shsa(b.scope("mixer.m"), x, dim, cfg.qkDim()[i], cfg.partialDim()[i]));
            } else if (!cfg.types()[i].equals("i")) {
                throw new IllegalArgumentException("SHViT block type '" + cfg.types()[i] + "' (expected s or i)");
            }
            x = g.add(x, ffn(b.scope("ffn.m"), x, dim));
        }
        return x;
    }

    private static Value ffn(Scope s, Value x, int dim) {
        Value h = s.graph().relu(ConvBn.apply(s.scope("pw1"), x, 2 * dim, 1, 1, 1));
        return ConvBn.apply(s.scope("pw2"), h, dim, 1, 1, 1);
    }

    private static Value patchMerging(Scope s, Value x, int out) {
        Graph g = s.graph();
        int in = Math.toIntExact(x.dim(1));
        int hid = 4 * in;
        Value h = g.relu(ConvBn.apply(s.scope("conv1"), x, hid, 1, 1, 1));
        h = g.relu(ConvBn.apply(s.scope("conv2"), h, hid, 3, 2, hid));
        h = squeezeExcite(s.scope("se"), h, hid);
        return ConvBn.apply(s.scope("conv3"), h, out, 1, 1, 1);
    }

    /** timm's SEModule at rd_ratio 0.25: mean → 1×1 conv → ReLU → 1×1 conv → sigmoid gate. */
    private static Value squeezeExcite(Scope s, Value x, int c) {
        Graph g = s.graph();
        int rd = makeDivisible(c * 0.25, 8);
        Value p = g.globalAvgPool(x);
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value a = g.relu(g.conv2d(p, s.scope("fc1").param("weight", rd, c, 1, 1), s.scope("fc1").param("bias", rd), one, zero, one, 1));
        Value b = g.conv2d(a, s.scope("fc2").param("weight", c, rd, 1, 1), s.scope("fc2").param("bias", c), one, zero, one, 1);
        return g.mul(x, g.sigmoid(b));
    }

    /** timm's make_divisible with round_limit 0. */
    static int makeDivisible(double v, int divisor) {
        return Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
    }

    /**
     * Single-head self-attention on the first {@code pdim} channels, the rest passed through, then
     * ReLU and a Conv-BN projection of all channels.
     */
    private static Value shsa(Scope s, Value x, int dim, int qk, int pdim) {
        Graph g = s.graph();
        long h = x.dim(2), wd = x.dim(3), n = h * wd;
        Value x1 = x, x2 = null;
        if (pdim < dim) {
            Value[] parts = g.split(x, 1, pdim, dim - pdim);
            x1 = parts[0];
            x2 = parts[1];
        }
        // GroupNorm(1): normalise each sample over [pdim, H, W]; the affine goes into qkv below.
        Value flat = g.reshape(x1, -1, 1, pdim * n);
        Value normed = g.op1("InstanceNormalization", new Value[]{flat, g.constant("gn_scale", new float[]{1f}, 1),
                g.constant("gn_shift", new float[]{0f}, 1)}, flat.dtype(), flat.shape(), Attr.f("epsilon", 1e-5f));
        Value xn = g.reshape(normed, -1, pdim, h, wd);

        int o = 2 * qk + pdim;
        ConvBn.Folded f = ConvBn.fold(s.scope("qkv"), pdim, o, 1, 1);
        float[] gamma = s.scope("pre_norm").floats("weight", pdim);
        float[] beta = s.scope("pre_norm").floats("bias", pdim);
        double scale = Math.pow(qk, -0.5);
        float[] wq = new float[o * pdim];
        float[] bq = new float[o];
        for (int r = 0; r < o; r++) {
            double sc = r < qk ? scale : 1.0;
            double acc = f.bias()[r];
            for (int c = 0; c < pdim; c++) {
                double wrc = f.weight()[r * pdim + c];
                wq[r * pdim + c] = (float) (wrc * gamma[c] * sc);
                acc += wrc * beta[c];
            }
            bq[r] = (float) (acc * sc);
        }
        ConvBn.Folded qkvF = new ConvBn.Folded(wq, bq, o, pdim, 1);
        Value qkv = g.reshape(ConvBn.emit(s.scope("qkv"), xn, qkvF, 1, 1), -1, o, n);
        Value[] p = g.split(qkv, 1, qk, qk, pdim);
        Value attn = g.softmax(g.matMul(g.transpose(p[0], 0, 2, 1), p[1]), -1);     // [B, N, N]
        Value y = g.matMul(p[2], g.transpose(attn, 0, 2, 1));                         // [B, pdim, N]
        Value y4 = g.reshape(y, -1, pdim, h, wd);
        Value cat = x2 == null ? y4 : g.concat(1, y4, x2);
        return ConvBn.apply(s.scope("proj.1"), g.relu(cat), dim, 1, 1, 1);
    }

    /** Global average pool, then BatchNorm1d + Linear folded into one Gemm (with the authors' distillation head averaged in). */
    private Value head(Scope w, Value x, int c) {
        Graph g = w.graph();
        Value pooled = g.reshape(g.globalAvgPool(x), -1, c);
        Taps.of(g).embedding(pooled);                             // what head (and head_dist) read
        String[] heads = w.has("head_dist.l.weight") ? new String[]{"head", "head_dist"} : new String[]{"head"};
        return BnLinearHead.averaged(w, pooled, c, cfg.numClasses(), ConvBn.BN_EPS, heads);
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(cfg.embedDim());
    }
}
