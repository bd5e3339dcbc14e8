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
import org.attnzoo.sdk.ops.StripeAttention;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * InLine-CSwin, as the authors' {@code models/inline_cswin.py}: a CSWin Transformer (7×7 stride-4
 * conv embedding, stages joined by stride-2 conv + LayerNorm merges) whose blocks use
 * {@link InLineAttention} ('I') or CSWin's LePE attention ('S', one {@code StripeAttention2D} node per branch). A block whose stripe width equals
 * its map attends over the whole map with all channels; otherwise half the channels (and heads)
 * attend within vertical stripes ({@code map × split}) and half within horizontal ones, each window
 * with a 3×3 depthwise LePE on its values (zero padded at the window border), as upstream. The
 * released models use 'I' with stripes as wide as the map in stages 1–2 and 'S' in stages 3–4.
 * InLine's residual kernels come from the mean of the block's input before its norm, as upstream.
 */
public final class InLineCSwin extends FamilyArchitecture<InLineCSwin.Config> {

    /** {@code splitSize}: the 'S' stripe widths; {@code laSplitSize}: the 'I' ones (the map size in the released configs). */
    public record Config(int imgSize, int numClasses, int embedDim, int[] depth, int[] splitSize, int[] laSplitSize,
                         int[] numHeads, double mlpRatio, String attnType) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        int[] la224 = {56, 28, 14, 7};
        m.put("inline_cswin_tiny", new Config(224, 1000, 64, new int[]{2, 4, 18, 1}, new int[]{1, 2, 7, 7}, la224, new int[]{2, 4, 8, 16}, 4, "IISS"));
        m.put("inline_cswin_small", new Config(224, 1000, 64, new int[]{3, 6, 29, 2}, new int[]{1, 2, 7, 7}, la224, new int[]{2, 4, 8, 16}, 4, "IISS"));
        m.put("inline_cswin_base", new Config(224, 1000, 96, new int[]{3, 6, 29, 2}, new int[]{1, 2, 7, 7}, la224, new int[]{4, 8, 16, 32}, 4, "IISS"));
        m.put("inline_cswin_base_384", new Config(384, 1000, 96, new int[]{3, 6, 29, 2}, new int[]{1, 2, 12, 12}, new int[]{96, 48, 24, 12},
                new int[]{4, 8, 16, 32}, 4, "IISS"));
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public InLineCSwin(String name, Config cfg, Preprocessing pre) {
        super("inline", name, cfg, pre);
    }

    /** The authors' (Swin codebase) eval transform: resize to 256/224 of the size, centre crop, bicubic. */
    public static InLineCSwin variant(String name) {
        Config c = lookup(VARIANTS, "InLine-CSwin", name);
        return new InLineCSwin(name, c, Preprocessing.imagenet(c.imgSize(), 224.0 / 256, "bicubic"));
    }

    /**
     * The pre-logits vector (final norm, mean over tokens) and the four stage outputs at strides 4,
     * 8, 16, 32 (the authors' repository has no dense-prediction backbone: the stages' own outputs).
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.embedDim(), 4, 4);
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim();
        Scope st = w.scope("stage1_conv_embed");
        Value x = g.conv2d(image, st.scope("0").param("weight", c, 3, 7, 7), st.scope("0").param("bias", c), new int[]{4, 4},
                new int[]{2, 2, 2, 2}, new int[]{1, 1}, 1);
        int res = Math.toIntExact(x.dim(2));
        if (res != cfg.imgSize() / 4) throw new IllegalArgumentException("InLine-CSwin expects " + cfg.imgSize() + "px inputs");
        Value t = LayerNorm.apply(st.scope("2"), g.transpose(g.reshape(x, -1, c, (long) res * res), 0, 2, 1), c, 1e-5f);
        Taps taps = Taps.of(g);
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                Scope mg = w.scope("merge" + i);
                Value img = g.reshape(g.transpose(t, 0, 2, 1), -1, c, res, res);
                Value y = g.conv2d(img, mg.scope("conv").param("weight", 2L * c, c, 3, 3), mg.scope("conv").param("bias", 2L * c),
                        new int[]{2, 2}, new int[]{1, 1, 1, 1}, new int[]{1, 1}, 1);
                c *= 2;
                res = Math.toIntExact(y.dim(2));
                t = LayerNorm.apply(mg.scope("norm"), g.transpose(g.reshape(y, -1, c, (long) res * res), 0, 2, 1), c, 1e-5f);
            }
            char type = cfg.attnType().charAt(i);
            if (type != 'I' && type != 'S') throw new IllegalArgumentException("attention type '" + type + "' (expected I or S)");
            int split = type == 'I' ? cfg.laSplitSize()[i] : cfg.splitSize()[i];
            for (int j = 0; j < cfg.depth()[i]; j++) {
                Scope b = w.scope("stage" + (i + 1), j);
                final Value in = t;
                final int cc = c, rr = res, si = i;
                t = g.named("stage" + (i + 1) + "." + j, () -> block(b, in, cc, rr, cfg.numHeads()[si], split, type, si == 3));
            }
            // no backbone class upstream: each stage's output tokens, NCHW
            final Value out = t;
            final int oc = c, or = res;
            taps.feature(i, () -> g.reshape(g.transpose(out, 0, 2, 1), -1, oc, or, or));
        }
        t = LayerNorm.apply(w.scope("norm"), t, c, 1e-5f);
        Value pooled = g.op1("ReduceMean", new Value[]{t}, t.dtype(), new long[]{t.dim(0), c}, Attr.ints("axes", 1), Attr.i("keepdims", 0));
        taps.embedding(pooled);                             // forward_features: norm, mean over tokens
        Scope h = w.scope("head");
        return g.gemm(pooled, h.param("weight", cfg.numClasses(), c), h.param("bias", cfg.numClasses()), true);
    }

    private Value block(Scope b, Value x, int c, int res, int heads, int split, char type, boolean lastStage) {
        Graph g = b.graph();
        long l = (long) res * res;
        boolean single = lastStage || res == split;
        Value h1 = LayerNorm.apply(b.scope("norm1"), x, c, 1e-5f);
        Value qkv = g.reshape(Linear.apply(b.scope("qkv"), h1, c, 3L * c, true), -1, l, 3, c);
        Value[] p = g.split(qkv, 2, 1, 1, 1);
        Value q = g.squeeze(p[0], 2), k = g.squeeze(p[1], 2), v = g.squeeze(p[2], 2);          // [B, L, c]
        Value xm = g.op1("ReduceMean", new Value[]{x}, x.dtype(), new long[]{x.dim(0), c}, Attr.ints("axes", 1), Attr.i("keepdims", 0));
        Value out;
        if (single) {
            out = branch(b.scope("attns.0"), q, k, v, xm, c, res, heads, res, res, type);
        } else {
            int half = c / 2;
            Value[] qs = g.split(q, 2, half, half), ks = g.split(k, 2, half, half), vs = g.split(v, 2, half, half), ms = g.split(xm, 1, half, half);
            Value o0 = branch(b.scope("attns.0"), qs[0], ks[0], vs[0], ms[0], half, res, heads / 2, res, split, type);
            Value o1 = branch(b.scope("attns.1"), qs[1], ks[1], vs[1], ms[1], half, res, heads / 2, split, res, type);
            out = g.concat(2, o0, o1);
        }
        x = g.add(x, Linear.apply(b.scope("proj"), out, c, c, true));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, 1e-5f);
        int hidden = (int) (c * cfg.mlpRatio());
        return g.add(x, Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), h2, c, hidden, true)), hidden, c, true));
    }

    /** Tokens [B, res², c] to windows [B·nW, hs·ws, c] (windows row-major, pixels row-major inside). */
    private static Value toWindows(Graph g, Value t, int res, int hs, int ws, int c) {
        Value x = g.reshape(t, -1, res / hs, hs, res / ws, ws, c);
        return g.reshape(g.transpose(x, 0, 1, 3, 2, 4, 5), -1, (long) hs * ws, c);
    }

    private static Value fromWindows(Graph g, Value w, int res, int hs, int ws, int c) {
        Value x = g.reshape(w, -1, res / hs, res / ws, hs, ws, c);
        return g.reshape(g.transpose(x, 0, 1, 3, 2, 4, 5), -1, (long) res * res, c);
    }

    /**
     * One attention branch over {@code hs × ws} windows; returns tokens [B, res², c]. 'S' (CSWin's
     * softmax attention): one {@code StripeAttention2D} node ({@code hs = res}: vertical stripes of
     * width {@code ws}, the whole map when {@code ws = res} too; else horizontal stripes of height
     * {@code hs}); 'I': InLine's linear attention over the whole map (not a stripe op).
     */
    private static Value branch(Scope s, Value q, Value k, Value v, Value xm, int c, int res, int heads, int hs, int ws, char type) {
        Graph g = s.graph();
        if (res % hs != 0 || res % ws != 0) throw new IllegalArgumentException(s.prefix() + ": " + res + " map is not a multiple of the " + hs + "x" + ws + " stripes");
        int n = hs * ws, hd = c / heads;
        Value vw = toWindows(g, v, res, hs, ws, c);
        // LePE: 3x3 depthwise conv of each window's values (zero padded at the window border)
        Value vImg = g.reshape(g.transpose(vw, 0, 2, 1), -1, c, hs, ws);
        Scope gv = s.scope("get_v");
        Value lepe = g.conv2d(vImg, gv.param("weight", c, 1, 3, 3), gv.param("bias", c), new int[]{1, 1}, new int[]{1, 1, 1, 1}, new int[]{1, 1}, c);
        Value lepeT = g.transpose(g.reshape(lepe, -1, c, n), 0, 2, 1);                                  // [b, n, c]
        if (type == 'S') {
            StripeAttention.Orientation or = hs == res ? StripeAttention.Orientation.VERTICAL : StripeAttention.Orientation.HORIZONTAL;
            int width = or == StripeAttention.Orientation.VERTICAL ? ws : hs;
            Value[] tok = {q, k, v}, hf = new Value[3];
            for (int i = 0; i < 3; i++) hf[i] = g.transpose(g.reshape(tok[i], -1, res, res, heads, hd), 0, 3, 1, 2, 4);   // [B, heads, res, res, hd]
            Value a = StripeAttention.apply(g, hf[0], hf[1], hf[2], null, null, or, width, (float) Math.pow(hd, -0.5), false);
            Value at = g.reshape(g.transpose(a, 0, 2, 3, 1, 4), -1, (long) res * res, c);
            return g.add(at, fromWindows(g, lepeT, res, hs, ws, c));
        }
        if (hs != res || ws != res) {
            throw new IllegalArgumentException(s.prefix() + ": InLine attention in CSWin runs over whole maps only (upstream's residual "
                    + "kernels are per image), got " + hs + "x" + ws + " stripes on a " + res + " map");
        }
        Value qw = toWindows(g, q, res, hs, ws, c), kw = toWindows(g, k, res, hs, ws, c);
        Value qh = g.transpose(g.reshape(qw, -1, n, heads, hd), 0, 2, 1, 3);
        Value kh = g.transpose(g.reshape(kw, -1, n, heads, hd), 0, 2, 1, 3);
        Value vh = g.transpose(g.reshape(vw, -1, n, heads, hd), 0, 2, 1, 3);
        Value o = InLineAttention.mixWithMean(s, xm, qh, kh, vh, heads, hs, ws, 0);
        return fromWindows(g, g.add(o, lepeT), res, hs, ws, c);
    }
}
