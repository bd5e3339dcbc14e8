package org.attnzoo.zoo.family.fan;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.SwinWindows;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.FamilyArchitecture;
import org.attnzoo.zoo.arch.Taps;
import org.attnzoo.zoo.arch.ImageConfig;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * FAN-Swin, as the authors' {@code models/swin_utils.py} (NVlabs/FAN; TAPADL's copy registers the
 * same models as {@code tap_fan_swin_*}): a Swin Transformer (patch 4 conv + LayerNorm, window
 * attention with relative position bias, shifted windows with Swin's −100 masks in odd blocks,
 * PatchMerging) whose MLP is FAN's ChannelProcessing in the stages marked "FAN" (its value MLP
 * without the residual around the depthwise convs, as FANMlp) and timm's Mlp in the stages marked
 * "Mlp"; no absolute position embedding (ape=False), no layer scales; final LayerNorm, mean over
 * tokens, head. A stage whose map is not larger than the window uses the whole map as one window,
 * unshifted.
 */
public final class FanSwin extends FamilyArchitecture<FanSwin.Config> {

    public record Config(int imgSize, int numClasses, int patchSize, int embedDim, int[] depths, int[] numHeads, int windowSize,
                         double mlpRatio, boolean qkvBias, String[] mlpType) implements ImageConfig {
        @Override
        public int inChans() {
            return 3;
        }
    }

    public static final Map<String, Config> VARIANTS;

    static {
        Map<String, Config> m = new LinkedHashMap<>();
        String[] types = {"FAN", "FAN", "FAN", "Mlp"};
        for (String prefix : new String[]{"", "tap_"}) {
            m.put(prefix + "fan_swin_tiny_patch4_window7_224", new Config(224, 1000, 4, 96, new int[]{2, 2, 6, 2}, new int[]{3, 6, 12, 24}, 7, 4, true, types));
            m.put(prefix + "fan_swin_small_patch4_window7_224", new Config(224, 1000, 4, 96, new int[]{2, 2, 18, 2}, new int[]{3, 6, 12, 24}, 7, 4, true, types));
            m.put(prefix + "fan_swin_base_patch4_window7_224", new Config(224, 1000, 4, 128, new int[]{2, 2, 18, 2}, new int[]{4, 8, 16, 32}, 7, 4, true, types));
            m.put(prefix + "fan_swin_large_patch4_window7_224", new Config(224, 1000, 4, 192, new int[]{2, 2, 18, 2}, new int[]{6, 12, 24, 48}, 7, 4, true, types));
        }
        VARIANTS = Collections.unmodifiableMap(m);
    }

    public FanSwin(String name, Config cfg, Preprocessing pre) {
        super("fan", name, cfg, pre);
    }

    /** swin_utils.py's default_cfg: 224 px, crop_pct 0.9, bicubic, ImageNet mean/std. */
    public static FanSwin variant(String name) {
        Config c = lookup(VARIANTS, "FAN-Swin", name);
        return new FanSwin(name, c, Preprocessing.imagenet(c.imgSize(), 0.9, "bicubic"));
    }

    @Override
    public void declareIgnorable(Weights w) {
        w.ignoreUnused(k -> k.endsWith(".relative_position_index") || k.endsWith(".attn_mask"));
    }

    private static final float EPS = 1e-5f;

    /**
     * The pooled, normed vector the head reads, and per stage the map the authors' segmentation
     * backbone ({@code segmentation/mmseg/models/backbones/swin_utils.py} FANSwinTransformer,
     * out_indices 0..3) returns: the stage's output before its PatchMerging, through that class's
     * own LayerNorm {@code norm<i>}.
     */
    @Override
    public Backbone backbone() {
        return Backbone.doubling(cfg.embedDim(), cfg.patchSize(), cfg.depths().length);
    }

    /**
     * Square sizes at which every stage keeps the window it has at the card size: upstream makes a
     * stage whose map is no larger than the window one whole-map window (its relative-position table
     * then has that size), so a stage map must stay a multiple of the window when larger than it
     * and exactly its card size when not; the patch size and PatchMergings must divide evenly. E.g.
     * 224 and 448 with window 7 (maps 56/28/14/7 and 112/56/28/14).
     */
    @Override
    public Architecture atSize(int height, int width) {
        if (height == cfg.imgSize() && width == cfg.imgSize()) return this;
        if (height != width) throw badSize(height, width, "FAN-Swin's configuration has one image size (square inputs only)", 1);
        int n = cfg.depths().length, ws = cfg.windowSize(), m = cfg.patchSize() << (n - 1);
        if (height % m != 0) throw badSize(height, width, "the input must be a multiple of " + m + " (patch size and " + (n - 1) + " PatchMergings)", m);
        for (int i = 0; i < n; i++) {
            int side = height / (cfg.patchSize() << i), card = cfg.imgSize() / (cfg.patchSize() << i);
            boolean ok = card >= ws ? side >= ws && side % ws == 0 : side == card;
            if (!ok) {
                throw new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": stage " + i + "'s map would be " + side + "x" + side
                        + "; its weights are for a " + Math.min(card, ws) + "x" + Math.min(card, ws) + " window, so the map must be "
                        + (card >= ws ? "a multiple of " + ws + " (e.g. " + (m * ws) + "x" + (m * ws) + " or " + (2 * m * ws) + "x" + (2 * m * ws) + ")"
                                : "exactly " + card + "x" + card + " (only " + cfg.imgSize() + "x" + cfg.imgSize() + " fits this configuration)"));
            }
        }
        return new FanSwin(name, org.attnzoo.zoo.arch.ImageConfig.withImgSize(cfg, height), preprocessingAt(height, width));
    }

    /**
     * The segmentation backbone's {@code norm<i>} (nn.LayerNorm, eps 1e-5) on a stage output: from
     * the checkpoint where it has one (a segmentation checkpoint); a classification checkpoint has
     * none, and that class then starts from PyTorch's initialisation (weight 1, bias 0), built here.
     */
    private static Value outputNorm(Scope s, Value t, int c) {
        return LayerNorm.applyOrInitial(s, t, c, EPS);
    }

    @Override
    public Value forward(Graph g, Scope w, Value image) {
        int c = cfg.embedDim(), p = cfg.patchSize();
        Scope pe = w.scope("patch_embed");
        Value x = g.conv2d(image, pe.scope("proj").param("weight", c, 3, p, p), pe.scope("proj").param("bias", c), new int[]{p, p},
                new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        int h = Math.toIntExact(x.dim(2)), wd = Math.toIntExact(x.dim(3));
        Value t = LayerNorm.apply(pe.scope("norm"), g.transpose(g.reshape(x, -1, c, (long) h * wd), 0, 2, 1), c, EPS);
        int n = cfg.depths().length;
        Taps taps = Taps.of(g);
        for (int i = 0; i < n; i++) {
            Scope layer = w.scope("layers", i);
            for (int j = 0; j < cfg.depths()[i]; j++) {
                Scope b = layer.scope("blocks", j);
                final Value in = t;
                final int si = i, bj = j, hh = h, ww = wd, cc = c;
                t = g.named("layers." + i + ".blocks." + j, () -> block(b, in, si, bj, hh, ww, cc));
            }
            if (taps.wants(i)) {                            // segmentation backbone: norm<i>(stage output), before PatchMerging
                Value o = outputNorm(w.scope("norm" + i), t, c);
                taps.feature(i, g.reshape(g.transpose(o, 0, 2, 1), -1, c, h, wd));
            }
            if (i < n - 1) {
                t = SwinWindows.patchMerging(layer.scope("downsample"), t, h, wd, c, EPS);
                h /= 2;
                wd /= 2;
                c *= 2;
            }
        }
        t = LayerNorm.apply(w.scope("norm"), t, c, EPS);
        Value pooled = g.op1("ReduceMean", new Value[]{t}, t.dtype(), new long[]{t.dim(0), c}, Attr.ints("axes", 1), Attr.i("keepdims", 0));
        taps.embedding(pooled);                             // what the head reads (the authors' forward_features)
        return Linear.apply(w.scope("head"), pooled, c, cfg.numClasses(), true);
    }

    private Value block(Scope b, Value x, int i, int j, int h, int w, int c) {
        Graph g = b.graph();
        int ws = cfg.windowSize();
        int shift = j % 2 == 0 ? 0 : ws / 2;
        if (Math.min(h, w) <= ws) {
            shift = 0;
            ws = Math.min(h, w);
        }
        if (h % ws != 0 || w % ws != 0) throw new IllegalArgumentException(b.prefix() + ": " + h + "x" + w + " map is not a multiple of window " + ws);
        int heads = cfg.numHeads()[i];
        Value h1 = g.reshape(LayerNorm.apply(b.scope("norm1"), x, c, EPS), -1, h, w, c);
        if (shift > 0) h1 = SwinWindows.roll(g, SwinWindows.roll(g, h1, 1, -shift), 2, -shift);
        long nW = (long) (h / ws) * (w / ws), n = (long) ws * ws;
        Value win = g.reshape(g.transpose(g.reshape(h1, -1, h / ws, ws, w / ws, ws, c), 0, 1, 3, 2, 4, 5), -1, n, c);
        Scope a = b.scope("attn");
        Value qkv = g.transpose(g.reshape(Linear.apply(a.scope("qkv"), win, c, 3L * c, cfg.qkvBias()), -1, n, 3, heads, c / heads), 2, 0, 3, 1, 4);
        Value[] p = g.split(qkv, 0, 1, 1, 1);
        Value out = SwinWindows.windowAttention(a, g.squeeze(p[0], 0), g.squeeze(p[1], 0), g.squeeze(p[2], 0), heads, ws,
                shift > 0 ? SwinWindows.shiftMask(h, w, ws, shift) : null, nW, c);
        out = Linear.apply(a.scope("proj"), out, c, c, true);
        Value back = g.reshape(g.transpose(g.reshape(out, -1, h / ws, w / ws, ws, ws, c), 0, 1, 3, 2, 4, 5), -1, h, w, c);
        if (shift > 0) back = SwinWindows.roll(g, SwinWindows.roll(g, back, 1, shift), 2, shift);
        x = g.add(x, g.reshape(back, -1, (long) h * w, c));
        Value h2 = LayerNorm.apply(b.scope("norm2"), x, c, EPS);
        int hidden = (int) (c * cfg.mlpRatio());
        Value m;
        if (cfg.mlpType()[i].equals("Mlp")) {
            m = Linear.apply(b.scope("mlp.fc2"), g.gelu(Linear.apply(b.scope("mlp.fc1"), h2, c, hidden, true)), hidden, c, true);
        } else {
            m = Fan.channelProcessing(b.scope("mlp"), h2, h, w, c, heads, hidden, cfg.qkvBias(), false);
        }
        return g.add(x, m);
    }

    @Override
    public String toString() {
        return name + " " + cfg.embedDim() + " " + Arrays.toString(cfg.depths());
    }
}
