package org.attnzoo.sdk.ops;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.NodeProto;
import org.attnzoo.sdk.ops.StripeAttention.Orientation;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code StripeAttention2D} against a brute-force double-precision loop over stripes and tokens
 * written from CSWin's {@code img2windows} order (independent of the builder's reshapes), run by
 * stock ONNX Runtime through the model-local function and the inlined form.
 */
class StripeAttentionTest {
    @TempDir
    Path tmp;

    /** One case: map, orientation, stripe width, which of bias / mask are given and how they broadcast. */
    record Case(int h, int w, Orientation o, int width, boolean bias, boolean mask) {
        @Override
        public String toString() {
            return h + "x" + w + " " + o + " sw=" + width + (bias ? " bias" : "") + (mask ? " mask" : "");
        }
    }

    static Stream<Case> cases() {
        List<Case> all = new ArrayList<>();
        // non-square maps; widths 1, 2, 7 and the full side, both orientations
        int[][] maps = {{14, 28}, {28, 14}, {7, 14}};
        for (int[] m : maps) {
            for (Orientation o : Orientation.values()) {
                int side = o == Orientation.VERTICAL ? m[1] : m[0];
                for (int width : new int[]{1, 2, 7, side}) {
                    Case c = new Case(m[0], m[1], o, width, false, false);
                    if (side % width == 0 && !all.contains(c)) all.add(c);
                }
            }
        }
        // bias and mask: with each, and both, at several widths
        for (Orientation o : Orientation.values()) {
            all.add(new Case(14, 7, o, 7, true, false));
            all.add(new Case(6, 4, o, 2, false, true));
            all.add(new Case(6, 4, o, 1, true, true));
            all.add(new Case(7, 7, o, 7, true, true));
        }
        return all.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void functionFormMatchesTheBruteForceStripes(Case cs) throws Exception {
        run(cs, false);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void inlineFormMatchesTheBruteForceStripes(Case cs) throws Exception {
        run(cs, true);
    }

    @Test
    void stripeAndTokenOrderAreCswins() {
        // vertical stripes of width 2 on a 3x4 map: stripe 0 holds columns 0-1 row-major, stripe 1 columns 2-3
        assertThat(Reference.position(3, 4, Orientation.VERTICAL, 2, 0, 0)).containsExactly(0, 0);
        assertThat(Reference.position(3, 4, Orientation.VERTICAL, 2, 0, 1)).containsExactly(0, 1);
        assertThat(Reference.position(3, 4, Orientation.VERTICAL, 2, 0, 2)).containsExactly(1, 0);
        assertThat(Reference.position(3, 4, Orientation.VERTICAL, 2, 1, 5)).containsExactly(2, 3);
        // horizontal stripes of width 2 on a 4x3 map: stripe 1 holds rows 2-3 row-major
        assertThat(Reference.position(4, 3, Orientation.HORIZONTAL, 2, 1, 0)).containsExactly(2, 0);
        assertThat(Reference.position(4, 3, Orientation.HORIZONTAL, 2, 1, 4)).containsExactly(3, 1);
        StripeAttention.Stripes s = StripeAttention.stripes(6, 8, Orientation.VERTICAL, 2);
        assertThat(new int[]{s.hs(), s.ws(), s.nh(), s.nw(), s.stripes(), s.tokens()}).containsExactly(6, 2, 1, 4, 4, 12);
        s = StripeAttention.stripes(6, 8, Orientation.HORIZONTAL, 3);
        assertThat(new int[]{s.hs(), s.ws(), s.nh(), s.nw(), s.stripes(), s.tokens()}).containsExactly(3, 8, 2, 1, 2, 24);
    }

    @Test
    void sizesNotDivisibleByTheWidthAreRejectedAtBuildTime() {
        Graph g = new Graph("bad");
        Value q = g.input("q", DType.F32, Shapes.DYN, 2, 14, 10, 4);
        assertThatThrownBy(() -> StripeAttention.apply(g, q, q, q, null, null, Orientation.VERTICAL, 4, 1f, false))
                .hasMessageContaining("StripeAttention2D").hasMessageContaining("width 10").hasMessageContaining("stripe width 4");
        assertThatThrownBy(() -> StripeAttention.apply(g, q, q, q, null, null, Orientation.HORIZONTAL, 4, 1f, true))
                .hasMessageContaining("StripeAttention2D").hasMessageContaining("height 14").hasMessageContaining("stripe width 4");
        Value q4 = g.input("q4", DType.F32, 1, 2, 8, 4);
        assertThatThrownBy(() -> StripeAttention.apply(g, q4, q4, q4, null, null, Orientation.VERTICAL, 2, 1f, false))
                .hasMessageContaining("[B, heads, H, W, head_dim]");
        Value b = g.input("b", DType.F32, 1, 2, 5, 14, 14);
        assertThatThrownBy(() -> StripeAttention.apply(g, q, q, q, b, null, Orientation.VERTICAL, 2, 1f, false))
                .hasMessageContaining("bias").hasMessageContaining("[B, heads, stripes, n, n]");
    }

    @Test
    void oneFunctionAndOneSharedZeroPerGraph() throws Exception {
        Graph g = new Graph("strip_two");
        Value q = g.input("q", DType.F32, Shapes.DYN, 2, 8, 8, 4);
        Value y = StripeAttention.apply(g, q, q, q, null, null, Orientation.VERTICAL, 2, 0.5f, false);
        y = StripeAttention.apply(g, y, q, q, null, null, Orientation.HORIZONTAL, 4, 0.5f, false);
        g.output(y, "y");
        ModelProto m = OnnxModel.toProto(g);
        assertThat(m.getFunctionsList()).hasSize(1);
        // absent bias and mask: both are the same [1,1,1,1,1] reshape of one shared scalar-zero initializer
        List<NodeProto> nodes = m.getGraph().getNodeList();
        List<NodeProto> ops = nodes.stream().filter(n -> n.getDomain().equals(StripeAttention.DOMAIN)).toList();
        java.util.Set<String> zeroSources = new java.util.HashSet<>();
        for (NodeProto op : ops) {
            assertThat(op.getInput(3)).isEqualTo(op.getInput(4));
            NodeProto r = nodes.stream().filter(n -> n.getOutput(0).equals(op.getInput(3))).findFirst().orElseThrow();
            assertThat(r.getOpType()).isEqualTo("Reshape");
            zeroSources.add(r.getInput(0));
        }
        assertThat(zeroSources).hasSize(1);
        assertThat(m.getGraph().getInitializerList()).filteredOn(t -> zeroSources.contains(t.getName()))
                .singleElement().satisfies(t -> assertThat(t.getFloatDataCount() + t.getRawData().size() / 4).isEqualTo(1));
        List<NodeProto> ours = m.getGraph().getNodeList().stream().filter(n -> n.getDomain().equals(StripeAttention.DOMAIN)).toList();
        assertThat(ours).hasSize(2);
        assertThat(ours.get(0).getAttributeList()).extracting(a -> a.getName()).containsExactly("orientation", "stripe_width", "scale");
        assertThat(ours.get(1).getAttribute(0).getI()).isEqualTo(1);
        assertThat(ours.get(1).getAttribute(1).getI()).isEqualTo(4);
        // the function body uses only Reshape/Transpose/MatMul/Softmax and shape arithmetic: no Gather
        assertThat(m.getFunctions(0).getNodeList()).extracting(NodeProto::getOpType).doesNotContain("Gather", "GatherElements", "GatherND")
                .contains("MatMul", "Softmax", "Transpose", "Reshape");
        // MACs: two batched MatMuls, per sample: 2 * heads * stripes * n * n * D for each call
        assertThat(g.macs()).isEqualTo(2L * 2 * 4 * 16 * 16 * 4 + 2L * 2 * 2 * 32 * 32 * 4);
    }

    @Test
    void maskedFullBaselineMatchesTheReference() throws Exception {
        for (Case cs : List.of(new Case(14, 28, Orientation.VERTICAL, 7, false, false), new Case(6, 4, Orientation.HORIZONTAL, 2, false, false))) {
            Inputs in = inputs(cs, 2, 2, 4, 9);
            Graph g = new Graph("strip_full");
            Value[] qkv = qkvInputs(g, cs, 2, 4);
            g.output(StripeAttention.maskedFull(g, qkv[0], qkv[1], qkv[2], cs.o(), cs.width(), 0.5f), "y");
            compare(g, cs, in, 0.5, "full " + cs);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The brute force: every stripe, every query token, every key token of the stripe. */
    static final class Reference {
        /** (y, x) of token {@code t} of stripe {@code s}, by CSWin's img2windows order. */
        static int[] position(int h, int w, Orientation o, int width, int s, int t) {
            if (o == Orientation.VERTICAL) return new int[]{t / width, s * width + t % width};
            return new int[]{s * width + t / w, t % w};
        }

        static double[] attend(Inputs in, Case cs, double scale) {
            int b = in.batch, heads = in.heads, d = in.dim, h = cs.h(), w = cs.w();
            int stripes = (cs.o() == Orientation.VERTICAL ? w : h) / cs.width();
            int n = h * w / stripes;
            double[] out = new double[b * heads * h * w * d];
            double[] logit = new double[n];
            for (int bi = 0; bi < b; bi++) {
                for (int hi = 0; hi < heads; hi++) {
                    for (int s = 0; s < stripes; s++) {
                        for (int i = 0; i < n; i++) {
                            int[] pq = position(h, w, cs.o(), cs.width(), s, i);
                            int qi = (((bi * heads + hi) * h + pq[0]) * w + pq[1]) * d;
                            double max = Double.NEGATIVE_INFINITY;
                            for (int j = 0; j < n; j++) {
                                int[] pk = position(h, w, cs.o(), cs.width(), s, j);
                                int ki = (((bi * heads + hi) * h + pk[0]) * w + pk[1]) * d;
                                double dot = 0;
                                for (int c = 0; c < d; c++) dot += (double) in.q[qi + c] * in.k[ki + c];
                                double l = scale * dot;
                                if (in.bias != null) l += in.bias[in.biasIndex(bi, hi, s, i, j, stripes, n)];
                                if (in.mask != null) l += in.mask[in.maskIndex(bi, s, i, j, stripes, n)];
                                logit[j] = l;
                                max = Math.max(max, l);
                            }
                            double sum = 0;
                            for (int j = 0; j < n; j++) sum += logit[j] = Math.exp(logit[j] - max);
                            for (int j = 0; j < n; j++) {
                                int[] pk = position(h, w, cs.o(), cs.width(), s, j);
                                int vi = (((bi * heads + hi) * h + pk[0]) * w + pk[1]) * d;
                                for (int c = 0; c < d; c++) out[qi + c] += logit[j] / sum * in.v[vi + c];
                            }
                        }
                    }
                }
            }
            return out;
        }
    }

    /**
     * q, k, v {@code [B, heads, H, W, D]}; bias {@code [1, heads, 1, n, n]} (per head, shared by
     * stripes and samples), mask {@code [B, 1, stripes, n, n]} (0 or -inf, per sample and stripe,
     * never masking a query's own key).
     */
    record Inputs(float[] q, float[] k, float[] v, float[] bias, float[] mask, int batch, int heads, int dim, long[] biasShape, long[] maskShape) {
        int biasIndex(int b, int h, int s, int i, int j, int stripes, int n) {
            return (h * n + i) * n + j;
        }

        int maskIndex(int b, int s, int i, int j, int stripes, int n) {
            return ((b * stripes + s) * n + i) * n + j;
        }
    }

    static Inputs inputs(Case cs, int batch, int heads, int dim, long seed) {
        Random r = new Random(seed);
        int tokens = cs.h() * cs.w(), size = batch * heads * tokens * dim;
        int stripes = (cs.o() == Orientation.VERTICAL ? cs.w() : cs.h()) / cs.width();
        int n = tokens / stripes;
        float[] bias = null, mask = null;
        if (cs.bias()) bias = rand(r, heads * n * n, 1f);
        if (cs.mask()) {
            mask = new float[batch * stripes * n * n];
            for (int i = 0; i < mask.length; i++) {
                int q = (i / n) % n, key = i % n;
                mask[i] = q != key && r.nextDouble() < 0.4 ? Float.NEGATIVE_INFINITY : 0f;
            }
        }
        return new Inputs(rand(r, size, 1.5f), rand(r, size, 1.5f), rand(r, size, 1f), bias, mask, batch, heads, dim,
                new long[]{1, heads, 1, n, n}, new long[]{batch, 1, stripes, n, n});
    }

    static float[] rand(Random r, int n, float amp) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * amp);
        return x;
    }

    static Value[] qkvInputs(Graph g, Case cs, int heads, int dim) {
        long[] shape = {Shapes.DYN, heads, cs.h(), cs.w(), dim};
        return new Value[]{g.input("q", DType.F32, shape), g.input("k", DType.F32, shape), g.input("v", DType.F32, shape)};
    }

    private void run(Case cs, boolean inline) throws Exception {
        int heads = 2, dim = 4;
        Inputs in = inputs(cs, 2, heads, dim, 31L * cs.hashCode());
        Graph g = new Graph("strip");
        Value[] qkv = qkvInputs(g, cs, heads, dim);
        Value bias = cs.bias() ? g.input("bias", DType.F32, in.biasShape()) : null;
        Value mask = cs.mask() ? g.input("mask", DType.F32, Shapes.DYN, 1, in.maskShape()[2], in.maskShape()[3], in.maskShape()[4]) : null;
        float scale = (float) Math.pow(dim, -0.5);
        g.output(StripeAttention.apply(g, qkv[0], qkv[1], qkv[2], bias, mask, cs.o(), cs.width(), scale, inline), "y");
        Path file = compare(g, cs, in, scale, (inline ? "inline " : "function ") + cs);
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(file));
        List<NodeProto> ours = m.getGraph().getNodeList().stream().filter(n -> n.getDomain().equals(StripeAttention.DOMAIN)).toList();
        if (inline) {
            assertThat(ours).isEmpty();
            assertThat(m.getFunctionsList()).isEmpty();
        } else {
            assertThat(ours).extracting(NodeProto::getOpType).containsExactly(StripeAttention.OP);
            assertThat(m.getFunctionsList()).anyMatch(f -> f.getName().equals(StripeAttention.OP) && f.getDomain().equals(StripeAttention.DOMAIN));
            assertThat(m.getOpsetImportList()).anyMatch(o -> o.getDomain().equals(StripeAttention.DOMAIN) && o.getVersion() == 1);
        }
    }

    private Path compare(Graph g, Case cs, Inputs in, double scale, String what) throws Exception {
        Path file = tmp.resolve(g.name() + ".onnx");
        OnnxModel.save(g, file);
        OnnxChecker.check(file);
        long[] qShape = {in.batch(), in.heads(), cs.h(), cs.w(), in.dim()};
        Map<String, NdArray> feeds = new LinkedHashMap<>();
        feeds.put("q", new NdArray(in.q(), qShape));
        feeds.put("k", new NdArray(in.k(), qShape));
        feeds.put("v", new NdArray(in.v(), qShape));
        boolean withBias = g.inputs().stream().anyMatch(v -> v.name().equals("bias"));
        boolean withMask = g.inputs().stream().anyMatch(v -> v.name().equals("mask"));
        if (withBias) feeds.put("bias", new NdArray(in.bias(), in.biasShape()));
        if (withMask) feeds.put("mask", new NdArray(in.mask(), in.maskShape()));
        double[] want = Reference.attend(in, cs, scale);
        float[] got;
        try (OnnxSession s = OnnxSession.open(file)) {
            NdArray out = s.run(feeds).get("y");
            assertThat(out.shape()).as(what).containsExactly(qShape);
            got = out.data();
        }
        double maxErr = 0;
        for (int i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
        assertThat(maxErr).as("%s: max abs error", what).isLessThan(2e-5);
        return file;
    }
}
