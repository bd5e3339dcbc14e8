package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

import java.util.Arrays;

/**
 * {@code torch.nn.LayerNorm} over the last axis (ONNX LayerNormalization), its channels-first form
 * for NCHW maps (timm's {@code LayerNorm2d}, the {@code data_format="channels_first"} LayerNorm of
 * ConvNeXt-style code), and the per-output norms backbone classes add.
 */
public final class LayerNorm {
    private LayerNorm() {
    }

    public static Value apply(Scope s, Value x, long dim, float eps) {
        return s.graph().layerNorm(x, s.param("weight", dim), s.param("bias", dim), eps, -1);
    }

    /** LayerNorm over the channels of an NCHW map: {@code [N, C, H, W]} in and out. */
    public static Value channelsFirst(Scope s, Value nchw, float eps) {
        Graph g = s.graph();
        long c = nchw.dim(1);
        Value y = g.layerNorm(g.transpose(nchw, 0, 2, 3, 1), s.param("weight", c), s.param("bias", c), eps, -1);
        return g.transpose(y, 0, 3, 1, 2);
    }

    /**
     * A norm that detection and segmentation backbone classes add on each output ({@code norm{i}},
     * {@code extra_norms.i}): read from the checkpoint where it has {@code s.weight} (one those
     * classes trained); otherwise the LayerNorm as PyTorch initialises it (weight 1, bias 0), which
     * is what such a class holds when it loads an ImageNet checkpoint, before detection training.
     */
    public static Value applyOrInitial(Scope s, Value x, long dim, float eps) {
        if (s.has("weight")) return apply(s, x, dim, eps);
        return s.graph().layerNorm(x, initialWeight(s, dim), initialBias(s, dim), eps, -1);
    }

    /** {@link #applyOrInitial} on an NCHW map (a channels-first per-output norm). */
    public static Value channelsFirstOrInitial(Scope s, Value nchw, float eps) {
        if (s.has("weight")) return channelsFirst(s, nchw, eps);
        Graph g = s.graph();
        long c = nchw.dim(1);
        Value y = g.layerNorm(g.transpose(nchw, 0, 2, 3, 1), initialWeight(s, c), initialBias(s, c), eps, -1);
        return g.transpose(y, 0, 3, 1, 2);
    }

    private static Value initialWeight(Scope s, long dim) {
        float[] one = new float[Math.toIntExact(dim)];
        Arrays.fill(one, 1f);
        return s.derived("weight", "PyTorch's initial LayerNorm weight (not in this checkpoint)", one, dim);
    }

    private static Value initialBias(Scope s, long dim) {
        return s.derived("bias", "PyTorch's initial LayerNorm bias (not in this checkpoint)", new float[Math.toIntExact(dim)], dim);
    }
}
