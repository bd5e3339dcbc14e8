package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/** timm's {@code PatchEmbed}: a stride-p p×p convolution, then tokens {@code [B, H/p·W/p, C]}. */
public final class PatchEmbed {
    private PatchEmbed() {
    }

    public static Value apply(Scope s, Value image, int patch, long inChans, long embed) {
        Graph g = s.graph();
        Scope proj = s.scope("proj");
        Value x = g.conv2d(image, proj.param("weight", embed, inChans, patch, patch), proj.param("bias", embed),
                new int[]{patch, patch}, new int[]{0, 0, 0, 0}, new int[]{1, 1}, 1);
        long tokens = x.dim(2) * x.dim(3);
        x = g.reshape(x, -1, embed, tokens);
        return g.transpose(x, 0, 2, 1);
    }
}
