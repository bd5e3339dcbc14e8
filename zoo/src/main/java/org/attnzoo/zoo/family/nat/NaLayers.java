package org.attnzoo.zoo.family.nat;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.LayerNorm;
import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Mlp;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.ops.NeighborhoodAttention;

import java.util.function.UnaryOperator;

/**
 * Pieces shared by the NAT-family models (NAT / DiNAT, DiNAT-s, isotropic NAT / DiNAT / ViT-rpb):
 * NATTEN's {@code NeighborhoodAttention2D} module and the pre-norm transformer layer around it.
 * All work on NHWC activations {@code [B, H, W, C]}.
 */
final class NaLayers {
    /** torch's LayerNorm default; every norm of these models uses it. */
    static final float EPS = 1e-5f;

    private NaLayers() {
    }

    /** The authors' timm defaults: 224 with crop 0.875 (bicubic); 384 fine-tunes with crop 1.0. */
    static Preprocessing preprocessing(int imgSize) {
        return imgSize == 384 ? Preprocessing.imagenet(384, 1.0, "bicubic") : Preprocessing.imagenet(imgSize, 0.875, "bicubic");
    }

    /**
     * NATTEN's (≤0.14 interface) {@code NeighborhoodAttention2D}: qkv linear, heads-first
     * neighbourhood attention with the {@code rpb [heads, 2k-1, 2k-1]} table, proj linear.
     */
    static Value neighborhoodAttention(Scope s, Value x, long d, int heads, int kernel, int dilation, boolean qkvBias) {
        Graph g = s.graph();
        long hgt = x.dim(1), wid = x.dim(2), hd = d / heads;
        Value qkv = Linear.apply(s.scope("qkv"), x, d, 3 * d, qkvBias);
        Value[] p = g.split(qkv, -1, d, d, d);
        Value[] qkvH = new Value[3];
        for (int i = 0; i < 3; i++) qkvH[i] = g.transpose(g.reshape(p[i], -1, hgt, wid, heads, hd), 0, 3, 1, 2, 4);
        Value rpb = s.param("rpb", heads, 2L * kernel - 1, 2L * kernel - 1);
        float scale = (float) Math.pow((double) hd, -0.5);
        Value y = NeighborhoodAttention.op2d(g, qkvH[0], qkvH[1], qkvH[2], rpb, new int[]{kernel, kernel},
                new int[]{dilation, dilation}, null, scale, false);
        y = g.reshape(g.transpose(y, 0, 2, 3, 1, 4), -1, hgt, wid, d);
        return Linear.apply(s.scope("proj"), y, d, d, true);
    }

    /**
     * One pre-norm layer ({@code NATLayer} / {@code NATransformerLayer} / {@code VisionTransformerLayer}):
     * {@code x + γ1·attn(norm1(x))}, then {@code x + γ2·mlp(norm2(x))}; γ only when {@code layerScale != 0}.
     */
    static Value layer(Scope b, Value x, long d, double mlpRatio, double layerScale, UnaryOperator<Value> attn) {
        Graph g = b.graph();
        Value a = attn.apply(LayerNorm.apply(b.scope("norm1"), x, d, EPS));
        if (layerScale != 0) a = g.mul(a, b.param("gamma1", d));
        x = g.add(x, a);
        Value m = Mlp.apply(b.scope("mlp"), LayerNorm.apply(b.scope("norm2"), x, d, EPS), d, (long) (d * mlpRatio), d);
        if (layerScale != 0) m = g.mul(m, b.param("gamma2", d));
        return g.add(x, m);
    }

    /** Parameters of one such layer; {@code rpbSide} is the bias table's side (2k-1, or 2L-1 for ViT-rpb). */
    static long layerParams(long d, long heads, long rpbSide, double mlpRatio, boolean qkvBias, boolean layerScale) {
        long hid = (long) (d * mlpRatio);
        return 2 * d + 3 * d * d + (qkvBias ? 3 * d : 0) + heads * rpbSide * rpbSide + d * d + d + 2 * d
                + d * hid + hid + hid * d + d + (layerScale ? 2 * d : 0);
    }

    /** Zero-pads NCHW {@code x} at the bottom / right up to multiples of {@code m} (the authors' PatchEmbed). */
    static Value padToMultipleNchw(Graph g, Value x, int m) {
        long h = x.dim(2), w = x.dim(3);
        long ph = (m - h % m) % m, pw = (m - w % m) % m;
        if (ph == 0 && pw == 0) return x;
        return g.pad(x, new long[]{0, 0, 0, 0, 0, 0, ph, pw}, 0f);
    }
}
