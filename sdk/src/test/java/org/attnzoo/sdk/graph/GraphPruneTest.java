package org.attnzoo.sdk.graph;

import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Graph.prune: what no output needs goes (nodes, initializers, their MACs); what it needs stays and computes the same. */
class GraphPruneTest {
    @TempDir
    Path tmp;

    private static Graph twoHeads(boolean keepHead) {
        Graph g = new Graph("prune");
        Value x = g.input("x", DType.F32, Shapes.DYN, 4);
        Value w1 = g.initializer("body.weight", new FloatTensor(new long[]{4, 3}, new float[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
        Value h = g.relu(g.matMul(x, w1));                      // [N, 3]: what a backbone returns
        Value w2 = g.initializer("head.weight", new FloatTensor(new long[]{3, 2}, new float[]{1, -1, 2, -2, 3, -3}));
        Value logits = g.matMul(h, w2);                         // [N, 2]: the head
        g.output(keepHead ? logits : h, keepHead ? "logits" : "embedding");
        return g;
    }

    @Test
    void cutsTheHeadAndItsWeightsAndWork() throws Exception {
        Graph full = twoHeads(true);
        full.prune();
        assertThat(full.initializers()).containsOnlyKeys("body.weight", "head.weight");
        assertThat(full.macs()).isEqualTo(4 * 3 + 3 * 2);

        Graph body = twoHeads(false);
        assertThat(body.macs()).isEqualTo(4 * 3 + 3 * 2);
        int before = body.nodeCount();
        body.prune();
        assertThat(body.initializers()).containsOnlyKeys("body.weight");
        assertThat(body.nodeCount()).isEqualTo(before - 1);
        assertThat(body.macs()).isEqualTo(4 * 3);

        Path f = tmp.resolve("body.onnx");
        OnnxModel.save(body, f);
        OnnxChecker.check(f);
        try (OnnxSession s = OnnxSession.open(f)) {
            NdArray y = s.run(new NdArray(new float[]{1, 0, 0, -1}, new long[]{1, 4}));
            assertThat(y.data()).containsExactly(0f, 0f, 0f);   // relu([1-10, 2-11, 3-12])
            NdArray z = s.run(new NdArray(new float[]{1, 1, 0, 0}, new long[]{1, 4}));
            assertThat(z.data()).containsExactly(5f, 7f, 9f);
        }
    }

    @Test
    void dropsFunctionsNoNodeCallsAnyMore() {
        Graph g = new Graph("fn");
        Value x = g.input("x", DType.F32, Shapes.DYN, 5, 5, 4);
        Value q = g.reshape(x, -1, 1, 5, 5, 4);
        Value dead = org.attnzoo.sdk.ops.NeighborhoodAttention.op2d(g, q, q, q, null, new int[]{3, 3}, new int[]{1, 1}, new boolean[]{false, false}, 0.5f, false);
        g.output(g.relu(x), "y");
        assertThat(g.functions).isNotEmpty();
        g.prune();
        assertThat(g.functions).isEmpty();
        assertThat(g.nodeCount()).isEqualTo(2);                  // the Relu and the Identity naming the output
        assertThat(dead).isNotNull();
    }
}
