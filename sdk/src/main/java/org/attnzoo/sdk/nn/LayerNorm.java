package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Value;

/** {@code torch.nn.LayerNorm} over the last axis (ONNX LayerNormalization). */
public final class LayerNorm {
    private LayerNorm() {
    }

    public static Value apply(Scope s, Value x, long dim, float eps) {
        return s.graph().layerNorm(x, s.param("weight", dim), s.param("bias", dim), eps, -1);
    }
}
