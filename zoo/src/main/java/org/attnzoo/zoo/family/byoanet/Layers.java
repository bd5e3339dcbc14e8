package org.attnzoo.zoo.family.byoanet;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.nn.BatchNorm;
import org.attnzoo.sdk.nn.Scope;

/** timm's ConvNormAct, BatchNormAct2d, SE and ECA gates as the byoanet family uses them. */
final class Layers {
    static final double BN_EPS = 1e-5;

    private Layers() {
    }

    /** timm's make_divisible (round_limit 0.9). */
    static int makeDivisible(double v, int divisor) {
        return makeDivisible(v, divisor, 0.9);
    }

    static int makeDivisible(double v, int divisor, double roundLimit) {
        int n = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
        return n < roundLimit * v ? n + divisor : n;
    }

    static Value act(Graph g, Value x, String act) {
        if (act == null) return x;
        return switch (act) {
            case "relu" -> g.relu(x);
            case "silu", "swish" -> g.silu(x);
            default -> throw new IllegalArgumentException("activation '" + act + "' (expected relu or silu)");
        };
    }

    /**
     * {@code conv} (no bias) → {@code bn} → activation, the BatchNorm folded into the convolution;
     * padding as timm's symmetric default {@code ((stride - 1) + (k - 1)) / 2}.
     */
    static Value convNormAct(Scope s, Value x, int out, int k, int stride, int groups, String act) {
        int p = ((stride - 1) + (k - 1)) / 2;   // timm's symmetric default padding
        Value y = BatchNorm.convFolded(s.scope("conv"), s.scope("bn"), x, out, k, stride, p, 1, groups, false, BN_EPS);
        return act(s.graph(), y, act);
    }

    /** An eval-mode BatchNorm2d on its own (weights directly under {@code s}) as a per-channel multiply-add. */
    static Value batchNorm(Scope s, Value x) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        double[][] a = BatchNorm.affine(s, c, BN_EPS);
        float[] sc = new float[c], sh = new float[c];
        for (int i = 0; i < c; i++) {
            sc[i] = (float) a[0][i];
            sh[i] = (float) a[1][i];
        }
        return g.add(g.mul(x, s.derived("folded_scale", "BatchNorm scale", sc, 1, c, 1, 1)),
                s.derived("folded_shift", "BatchNorm shift", sh, 1, c, 1, 1));
    }

    /** timm's SEModule (ReLU, sigmoid gate) or EcaModule (adaptive 1-D kernel over channels). */
    static Value channelGate(Scope s, Value x, ByoaNet.Attn attn) {
        Graph g = s.graph();
        int c = Math.toIntExact(x.dim(1));
        Value pooled = g.globalAvgPool(x);
        int[] one = {1, 1}, zero = {0, 0, 0, 0};
        Value gate;
        switch (attn.type()) {
            case "se" -> {
                int rd = makeDivisible(c * attn.rdRatio(), 8, 0.0);
                Scope f1 = s.scope("fc1"), f2 = s.scope("fc2");
                Value a = g.relu(g.conv2d(pooled, f1.param("weight", rd, c, 1, 1), f1.param("bias", rd), one, zero, one, 1));
                gate = g.conv2d(a, f2.param("weight", c, rd, 1, 1), f2.param("bias", c), one, zero, one, 1);
            }
            case "eca" -> {
                int t = (int) (Math.abs(Math.log(c) / Math.log(2) + 1) / 2);
                int k = Math.max(t % 2 == 1 ? t : t + 1, 3);
                int p = (k - 1) / 2;
                Value seq = g.reshape(pooled, -1, 1, c);
                Value y = g.op1("Conv", new Value[]{seq, s.scope("conv").param("weight", 1, 1, k)}, seq.dtype(),
                        new long[]{seq.dim(0), 1, c}, org.attnzoo.sdk.graph.Attr.ints("pads", p, p),
                        org.attnzoo.sdk.graph.Attr.ints("kernel_shape", k));
                gate = g.reshape(y, -1, c, 1, 1);
            }
            default -> throw new IllegalArgumentException("channel attention '" + attn.type() + "' (expected se or eca)");
        }
        return g.mul(x, g.sigmoid(gate));
    }
}
