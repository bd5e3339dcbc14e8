package org.attnzoo.zoo.family.inline;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.SwinWindows;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * InLine-Swin, as the authors' {@code models/inline_swin.py}: a Swin Transformer whose blocks use
 * {@link InLineAttention} ('I') or Swin's window attention with relative position bias ('S') per
 * the attention-type string ({@code "IIIS"}, {@code "IISS"}, {@code "IIMS2"} — 'M' followed by a
 * number makes that many leading blocks of the stage 'I' and the rest 'S'). 'I' blocks use the
 * configured window (56 in every released model, i.e. the whole map), 'S' blocks
 * {@code max(7, window / 8)}; a window is clamped to the map, and odd blocks of a stage whose map
 * is larger than the window are shifted by half a window (cyclic roll, as two Slices and a Concat
 * per axis) with Swin's −100 masks for window attention.
 */
public final class InLineSwin extends FamilyArchitecture<InLineSwin.Config> {

    public record Config(int imgSize, int numClasses, int patchSize, int embedDim, int[] depths, int[] numHeads,
                         int windowSize, double mlpRatio, String attnType) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }

        /** The attention type ('I' or 'S') of block {@code j} of stage {@code i}. */
        char type(int i, int j) {
            int n = depths.length;
            char t = attnType.charAt(i);
            if (t != 'M') return t;
            return j < Integer.parseInt(attnType.substring(n)) ? 'I' : 'S';
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        m.put("inline_swin_tiny", new Config(224, 1000, 4, 96, new int[]{2, 2, 6, 2}, new int[]{3, 6, 12, 24}, 56, 4, "IIIS"));
        m.put("inline_swin_small", new Config(224, 1000, 4, 96, new int[]{2, 2, 18, 2}, new int[]{3, 6, 12, 24}, 56, 4, "IISS"));
        m.put("inline_swin_base", new Config(224, 1000, 4, 128, new int[]{2, 2, 18, 2}, new int[]{4, 8, 16, 32}, 56, 4, "IIMS2"));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public InLineSwin(String name, Config cfg, Preprocessing pre) {
        super("inline", name, cfg, pre);
    }

    /** The authors' (Swin codebase) eval transform: resize to 256/224 of the size, centre crop, bicubic. */
    public static InLineSwin variant(String name) {
        Config c = lookup(VARIANTS, "InLine-Swin", name);
        return new InLineSwin(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    @Override
    public void declareIgnorable(Weights w) {
        w.ignoreUnused(k -> k.endsWith(".relative_position_index") || k.endsWith(".attn_mask"));
    }

    /**
     * The pre-logits vector (final norm, mean over tokens) and each stage's output before its patch
     * merging (strides p·2^i, p the patch size; timm's features_only for Swin), the authors'
     * repository having no dense-prediction backbone.
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.embedDim(), cfg.patchSize(), cfg.depths().length);
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim(), p = cfg.patchSize();
        Scope pe = w.scope("patch_embed");
        Value x = g.conv2d(image, pe.scope("proj").param("weight", c, 3, p, p), pe.scope("proj").param("bias", c), new int[]{p, p},
                new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        int h = Math.toIntExact(x.dim(2)), wd = Math.toIntExact(x.dim(3));
        Value t = LayerNorm.apply(pe.scope("norm"), g.transpose(g.reshape(x, -1, c, (long) h * wd), 0, 2, 1), c, 1e-5f);
        Taps taps = Taps.of(g);
        for (int i = 0; i < cfg.depths().length; i++) {
            Scope layer = w.scope("layers", i);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = layer.scope("blocks", j);
                final Value in = t;
                final int si = i, bj = j, hh = h, ww = wd, cc = c;
                t = g.named("layers." + i + ".blocks." + j, () -> block(b, in, si, bj, hh, ww, cc));
            }
            // no backbone class upstream: each stage's blocks' output, before its patch merging, NCHW
            final Value out = t;
            final int oh = h, ow = wd, oc = c;
            taps.feature(i, () -> g.reshape(g.transpose(out, 0, 2, 1), -1, oc, oh, ow));
            if (i < cfg.depths().length - 1) {
                t = SwinWindows.patchMerging(layer.scope("downsample"), t, h, wd, c, 1e-5f);
                h /= 2;
                wd /= 2;
                c *= 2;
            }
        }
        t = LayerNorm.apply(w.scope("norm"), t, c, 1e-5f);
        Value pooled = g.op1("ReduceMean", new Value[]{t}, t.dtype(), new long[]{t.dim(0), c}, Attr.ints("axes", 1), Attr.i("keepdims", 0));
        taps.embedding(pooled);                             // forward_features: norm, mean over tokens
        Scope hd = w.scope("head");
        return g.gemm(pooled, hd.param("weight", cfg.numClasses(), c), hd.param("bias", cfg.numClasses()), true);
    }

    private Value block(Scope b, Value x, int i, int j, int h, int w, int c) {
        Graph g = b.graph();
        char type = cfg.type(i, j);
        int ws = type == 'I' ? cfg.windowSize() : Math.max(7, cfg.windowSize() / 8);
        int shift = j % 2 == 0 ? 0 : ws / 2;
        if (Math.min(h, w) <= ws) {
            shift = 0;
            ws = Math.min(h, w);
        }
        if (h % ws != 0 || w % ws != 0) throw new IllegalArgumentException(b.prefix() + ": " + h + "x" + w + " map is not a multiple of window " + ws);
        int heads = cfg.numHeads()[i];
        Value h1 = g.reshape(LayerNorm.apply(b.scope("norm1"), x, c, 1e-5f), -1, h, w, c);
        if (shift > 0) h1 = SwinWindows.roll(g, SwinWindows.roll(g, h1, 1, -shift), 2, -shift);
        long nW = (long) (h / ws) * (w / ws), n = (long) ws * ws;
        Value win = g.reshape(g.transpose(g.reshape(h1, -1, h / ws, ws, w / ws, ws, c), 0, 1, 3, 2, 4, 5), -1, n, c);   // [B*nW, n, c]
        Scope a = b.scope("attn");
        Value qkv = g.transpose(g.reshape(Linear.apply(a.scope("qkv"), win, c, 3L * c, true), -1, n, 3, heads, c / heads), 2, 0, 3, 1, 4);
        Value[] p = g.split(qkv, 0, 1, 1, 1);
        Value q = g.squeeze(p[0], 0), k = g.squeeze(p[1], 0), v = g.squeeze(p[2], 0);
        Value out = type == 'I'
                ? InLineAttention.mix(a, win, q, k, v, heads, ws, ws, 0)
                : SwinWindows.windowAttention(a, q, k, v, heads, ws, shift > 0 ? SwinWindows.shiftMask(h, w, ws, shift) : null, nW, c);
        out = Linear.apply(a.scope("proj"), out, c, c, true);
        Value back = g.reshape(g.transpose(g.reshape(out, -1, h / ws, w / ws, ws, ws, c), 0, 1, 3, 2, 4, 5), -1, h, w, c);
        if (shift > 0) back = SwinWindows.roll(g, SwinWindows.roll(g, back, 1, shift), 2, shift);
        x = g.add(x, g.reshape(back, -1, (long) h * w, c));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, 1e-5f);
        int hidden = (int) (c * cfg.mlpRatio());
        return g.add(x, Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), h2, c, hidden, true)), hidden, c, true));
    }

}
