package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Value;

/** timm's {@code Mlp}: fc1, GELU, fc2 (dropout is inference-time identity). */
public final class Mlp {
    private Mlp() {
    }

    public static Value apply(Scope s, Value x, long in, long hidden, long out) {
        Value h = Linear.apply(s.scope("fc1"), x, in, hidden, true);
        h = s.graph().gelu(h);
        return Linear.apply(s.scope("fc2"), h, hidden, out, true);
    }
}
