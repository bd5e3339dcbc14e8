package org.attnzoo.sdk.ops;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.NodeProto;
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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The NA custom ops against a brute-force double-precision reference of NATTEN's rules, run by
 * stock ONNX Runtime through the model-local function (and the inlined form), in 1-D, 2-D and 3-D.
 */
class NeighborhoodAttentionTest {
    @TempDir
    Path tmp;

    /** One case: spatial sizes, kernel, dilation, causal flags. */
    record Case(int[] spatial, int[] kernel, int[] dilation, boolean[] causal) {
        @Override
        public String toString() {
            return "L" + Arrays.toString(spatial) + " k" + Arrays.toString(kernel) + " d" + Arrays.toString(dilation) + " causal" + Arrays.toString(causal);
        }
    }

    static Case c(int[] s, int[] k, int[] d, boolean... causal) {
        return new Case(s, k, d, causal.length == 0 ? new boolean[s.length] : causal);
    }

    static int[] a(int... v) {
        return v;
    }

    static Stream<Case> cases() {
        return Stream.of(
                // 1-D: interior and borders, k·d = L, even kernel, causal shrinking windows
                c(a(9), a(3), a(1)), c(a(9), a(3), a(3)), c(a(10), a(5), a(2)), c(a(7), a(7), a(1)),
                c(a(13), a(3), a(4)), c(a(8), a(4), a(2)), c(a(11), a(3), a(2), true), c(a(16), a(5), a(3), true),
                c(a(6), a(3), a(1), true),
                // 2-D: non-square, per-axis dilations, k·d = L on an axis, mixed causal
                c(a(7, 9), a(3, 5), a(2, 1)), c(a(8, 8), a(7, 7), a(1, 1)), c(a(12, 12), a(3, 3), a(4, 4)),
                c(a(6, 10), a(3, 3), a(2, 3), true, false), c(a(9, 5), a(3, 5), a(3, 1)), c(a(5, 7), a(5, 3), a(1, 2), true, true),
                // 3-D
                c(a(4, 5, 6), a(3, 3, 3), a(1, 1, 2)), c(a(3, 6, 4), a(3, 3, 3), a(1, 2, 1), true, false, true),
                c(a(5, 5, 5), a(5, 3, 1), a(1, 1, 5)));
    }

    @Test
    void javaWindowRuleEqualsTheClosedFormStartFormula() {
        int checked = 0;
        for (int len = 1; len <= 40; len++) {
            for (int k = 1; k <= 13; k++) {
                for (int d = 1; d * k <= len; d++) {
                    for (boolean causal : new boolean[]{false, true}) {
                        for (int i = 0; i < len; i++) {
                            int[] got = NeighborhoodWindows.axisWindow(len, k, d, causal, i);
                            int[] want = NeighborhoodReference.window(len, k, d, causal, i);
                            assertThat(got).as("L=%d k=%d d=%d causal=%s i=%d", len, k, d, causal, i).containsExactly(want);
                            // structural rules: same dilation group, in range, contains the query
                            for (int key : got) {
                                assertThat(key % d).isEqualTo(i % d);
                                assertThat(key).isBetween(0, len - 1);
                                assertThat(NeighborhoodWindows.rpbTap(key, i, k, d)).isBetween(0, 2 * k - 2);
                            }
                            assertThat(got).contains(i);
                            if (!causal) assertThat(got).hasSize(k);
                            else assertThat(got.length).isEqualTo(Math.min(k, i / d + 1));
                            checked++;
                        }
                    }
                }
            }
        }
        assertThat(checked).isGreaterThan(10_000);
    }

    @Test
    void windowsShiftInwardAtBordersAndRpbReachesTheOuterTaps() {
        // L=9, k=3, d=1: query 0 sees 0,1,2 (shifted), query 8 sees 6,7,8
        assertThat(NeighborhoodWindows.axisWindow(9, 3, 1, false, 0)).containsExactly(0, 1, 2);
        assertThat(NeighborhoodWindows.axisWindow(9, 3, 1, false, 8)).containsExactly(6, 7, 8);
        assertThat(NeighborhoodWindows.rpbTap(2, 0, 3, 1)).isEqualTo(4);
        // L=10, d=3: group 0 = {0,3,6,9}; query 9 sees 3,6,9
        assertThat(NeighborhoodWindows.axisWindow(10, 3, 3, false, 9)).containsExactly(3, 6, 9);
        // causal shrinks at the start
        assertThat(NeighborhoodWindows.axisWindow(10, 3, 2, true, 3)).containsExactly(1, 3);
        assertThatThrownBy(() -> NeighborhoodWindows.tables(new int[]{6}, new int[]{3}, new int[]{3}, new boolean[1], false))
                .hasMessageContaining("exceeds the axis length 6");
    }

    @ParameterizedTest
    @MethodSource("cases")
    void functionFormMatchesReference(Case cs) throws Exception {
        runCase(cs, true, false, null);
        runCase(cs, false, false, null);
    }

    /** Every shape of tables the body can be given: per query (1), small and odd tiles, whole groups (dense masked). */
    @ParameterizedTest
    @MethodSource("cases")
    void everyTileSizeMatchesReference(Case cs) throws Exception {
        int dims = cs.spatial().length;
        for (int t : new int[]{1, 2, 3, 5, 1000}) {
            int[] tile = new int[dims];
            Arrays.fill(tile, t);
            runCase(cs, true, false, tile);
        }
        if (dims >= 2) {
            int[] mixed = new int[dims];
            for (int i = 0; i < dims; i++) mixed[i] = i % 2 == 0 ? 1000 : 2;
            runCase(cs, true, false, mixed);
            runCase(cs, false, true, mixed);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void inlineFormMatchesReference(Case cs) throws Exception {
        runCase(cs, true, true, null);
        runCase(cs, false, true, null);
    }

    @Test
    void maskedFullBaselineMatchesReference() throws Exception {
        for (Case cs : List.of(c(a(7, 9), a(3, 5), a(2, 1)), c(a(11), a(3), a(2), true), c(a(4, 5, 6), a(3, 3, 3), a(1, 1, 2)))) {
            Inputs in = inputs(cs, 2, 2, 4, true, 5);
            Graph g = new Graph("na_full");
            Value[] qkv = qkvInputs(g, cs, 2, 4);
            Value rpb = g.input("rpb", DType.F32, in.rpbShape);
            g.output(NeighborhoodAttention.maskedFull(g, qkv[0], qkv[1], qkv[2], rpb, cs.kernel(), cs.dilation(), cs.causal(), 0.5f), "y");
            compare(g, in, cs, 0.5, "full " + cs);
        }
    }

    @Test
    void oneFunctionPerOpAndSharedTablesPerSignature() throws Exception {
        Case cs = c(a(8, 8), a(3, 3), a(2, 2));
        Graph g = new Graph("na_two");
        Value[] qkv = qkvInputs(g, cs, 2, 4);
        Value y = NeighborhoodAttention.op2d(g, qkv[0], qkv[1], qkv[2], null, cs.kernel(), cs.dilation(), cs.causal(), 0.5f, false);
        y = NeighborhoodAttention.op2d(g, y, qkv[1], qkv[2], null, cs.kernel(), cs.dilation(), cs.causal(), 0.5f, false);
        g.output(y, "y");
        ModelProto m = OnnxModel.toProto(g);
        assertThat(m.getFunctionsList()).hasSize(1);
        assertThat(m.getGraph().getInitializerList().stream().filter(t -> t.getName().startsWith("na_kv_index"))).hasSize(1);
        assertThat(m.getGraph().getNodeList().stream().filter(n -> n.getDomain().equals(NeighborhoodAttention.DOMAIN))).hasSize(2);
    }

    @Test
    void attentionTimesValueMatchesTheBruteForceWindows() throws Exception {
        // na2d_av on 2-D maps (windows shifted inward at borders, dilation 2 too), function and inline forms
        for (Case cs : List.of(c(a(7, 9), a(3, 5), a(1, 1)), c(a(8, 6), a(3, 3), a(2, 1)), c(a(5, 5), a(5, 5), a(1, 1)))) {
            for (boolean inline : new boolean[]{false, true}) {
                int b = 2, h = 2, d = 3, n = cs.spatial()[0] * cs.spatial()[1], win = cs.kernel()[0] * cs.kernel()[1];
                Random r = new Random(7);
                float[] attn = rand(r, b * h * n * win, 1f), v = rand(r, b * h * n * d, 1f);
                Graph g = new Graph("na_av");
                Value av = g.input("attn", DType.F32, Shapes.DYN, h, cs.spatial()[0], cs.spatial()[1], win);
                Value vv = g.input("v", DType.F32, Shapes.DYN, h, cs.spatial()[0], cs.spatial()[1], d);
                g.output(NeighborhoodAttention.av(g, av, vv, cs.kernel(), cs.dilation(), null, inline), "y");
                Path file = tmp.resolve("na_av.onnx");
                OnnxModel.save(g, file);
                OnnxChecker.check(file);
                ModelProto m = ModelProto.parseFrom(Files.readAllBytes(file));
                assertThat(m.getGraph().getNodeList().stream().filter(x -> x.getOpType().equals(NeighborhoodAttention.avOpType(2)))).hasSize(inline ? 0 : 1);
                Map<String, NdArray> feeds = new LinkedHashMap<>();
                feeds.put("attn", new NdArray(attn, new long[]{b, h, cs.spatial()[0], cs.spatial()[1], win}));
                feeds.put("v", new NdArray(v, new long[]{b, h, cs.spatial()[0], cs.spatial()[1], d}));
                float[] got;
                try (OnnxSession s = OnnxSession.open(file)) {
                    got = s.run(feeds).get("y").data();
                }
                int w = cs.spatial()[1];
                for (int bh = 0; bh < b * h; bh++)
                    for (int y = 0; y < cs.spatial()[0]; y++)
                        for (int x = 0; x < w; x++) {
                            int[] rows = NeighborhoodReference.window(cs.spatial()[0], cs.kernel()[0], cs.dilation()[0], false, y);
                            int[] cols = NeighborhoodReference.window(w, cs.kernel()[1], cs.dilation()[1], false, x);
                            int q = y * w + x;
                            for (int c = 0; c < d; c++) {
                                double want = 0;
                                for (int i = 0; i < rows.length; i++)
                                    for (int j = 0; j < cols.length; j++)
                                        want += attn[(bh * n + q) * win + i * cols.length + j] * v[(bh * n + rows[i] * w + cols[j]) * d + c];
                                assertThat((double) got[(bh * n + q) * d + c]).as("%s %s", cs, inline).isCloseTo(want, org.assertj.core.api.Assertions.within(1e-5));
                            }
                        }
            }
        }
    }

    @Test
    void rejectsBadShapes() {
        Graph g = new Graph("bad");
        Value q = g.input("q", DType.F32, 1, 2, 8, 4);
        assertThatThrownBy(() -> NeighborhoodAttention.op2d(g, q, q, q, null, a(3, 3), a(1, 1), null, 1f, false))
                .hasMessageContaining("2 spatial axes");
        Value r = g.input("r", DType.F32, 2, 3);
        assertThatThrownBy(() -> NeighborhoodAttention.op1d(g, q, q, q, r, a(3), a(1), null, 1f, false))
                .hasMessageContaining("rpb");
        Value dyn = g.input("dyn", DType.F32, 1, 2, Shapes.DYN, 4);
        assertThatThrownBy(() -> NeighborhoodAttention.op1d(g, dyn, dyn, dyn, null, a(3), a(1), null, 1f, false))
                .hasMessageContaining("build-time size");
    }

    // ------------------------------------------------------------------ helpers

    record Inputs(float[] q, float[] k, float[] v, float[] rpb, long[] qShape, long[] rpbShape, int batch, int heads, int dim) {
    }

    static Inputs inputs(Case cs, int batch, int heads, int dim, boolean withRpb, long seed) {
        Random r = new Random(seed);
        int tokens = 1, taps = 1;
        for (int s : cs.spatial()) tokens *= s;
        for (int k : cs.kernel()) taps *= 2 * k - 1;
        int n = batch * heads * tokens * dim;
        long[] qShape = new long[cs.spatial().length + 3];
        qShape[0] = batch;
        qShape[1] = heads;
        for (int i = 0; i < cs.spatial().length; i++) qShape[2 + i] = cs.spatial()[i];
        qShape[qShape.length - 1] = dim;
        long[] rpbShape = new long[cs.kernel().length + 1];
        rpbShape[0] = heads;
        for (int i = 0; i < cs.kernel().length; i++) rpbShape[1 + i] = 2L * cs.kernel()[i] - 1;
        return new Inputs(rand(r, n, 1.5f), rand(r, n, 1.5f), rand(r, n, 1f), withRpb ? rand(r, heads * taps, 1f) : null,
                qShape, rpbShape, batch, heads, dim);
    }

    static float[] rand(Random r, int n, float amp) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * amp);
        return x;
    }

    static Value[] qkvInputs(Graph g, Case cs, int heads, int dim) {
        long[] shape = new long[cs.spatial().length + 3];
        shape[0] = Shapes.DYN;
        shape[1] = heads;
        for (int i = 0; i < cs.spatial().length; i++) shape[2 + i] = cs.spatial()[i];
        shape[shape.length - 1] = dim;
        return new Value[]{g.input("q", DType.F32, shape), g.input("k", DType.F32, shape), g.input("v", DType.F32, shape)};
    }

    private void runCase(Case cs, boolean withRpb, boolean inline, int[] tile) throws Exception {
        int dims = cs.spatial().length;
        int dim = dims == 3 ? 3 : 4;
        Inputs in = inputs(cs, 2, 2, dim, withRpb, 31L * Arrays.hashCode(cs.spatial()) + dims);
        Graph g = new Graph("na" + dims);
        Value[] qkv = qkvInputs(g, cs, 2, dim);
        Value rpb = withRpb ? g.input("rpb", DType.F32, in.rpbShape) : null;
        float scale = (float) Math.pow(dim, -0.5);
        Value y = tile != null
                ? NeighborhoodAttention.opTiled(g, qkv[0], qkv[1], qkv[2], rpb, cs.kernel(), cs.dilation(), cs.causal(), scale, inline, tile)
                : switch (dims) {
            case 1 -> NeighborhoodAttention.op1d(g, qkv[0], qkv[1], qkv[2], rpb, cs.kernel(), cs.dilation(), cs.causal(), scale, inline);
            case 2 -> NeighborhoodAttention.op2d(g, qkv[0], qkv[1], qkv[2], rpb, cs.kernel(), cs.dilation(), cs.causal(), scale, inline);
            default -> NeighborhoodAttention.op3d(g, qkv[0], qkv[1], qkv[2], rpb, cs.kernel(), cs.dilation(), cs.causal(), scale, inline);
        };
        g.output(y, "y");
        Path file = compare(g, in, cs, scale, (inline ? "inline " : "function ") + (withRpb ? "rpb " : "") + cs
                + (tile == null ? "" : " tile" + Arrays.toString(tile)));
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(file));
        String op = NeighborhoodAttention.opType(dims);
        List<NodeProto> ours = m.getGraph().getNodeList().stream().filter(n -> n.getDomain().equals(NeighborhoodAttention.DOMAIN)).toList();
        if (inline) {
            assertThat(ours).isEmpty();
            assertThat(m.getFunctionsList()).isEmpty();
        } else {
            assertThat(ours).extracting(NodeProto::getOpType).containsExactly(op);
            assertThat(m.getFunctionsList()).anyMatch(f -> f.getName().equals(op) && f.getDomain().equals(NeighborhoodAttention.DOMAIN));
            assertThat(m.getOpsetImportList()).anyMatch(o -> o.getDomain().equals(NeighborhoodAttention.DOMAIN) && o.getVersion() == NeighborhoodAttention.VERSION);
        }
    }

    private Path compare(Graph g, Inputs in, Case cs, double scale, String what) throws Exception {
        Path file = tmp.resolve(g.name() + ".onnx");
        OnnxModel.save(g, file);
        OnnxChecker.check(file);
        Map<String, NdArray> feeds = new LinkedHashMap<>();
        feeds.put("q", new NdArray(in.q, in.qShape));
        feeds.put("k", new NdArray(in.k, in.qShape));
        feeds.put("v", new NdArray(in.v, in.qShape));
        if (in.rpb != null && g.inputs().size() > 3) feeds.put("rpb", new NdArray(in.rpb, in.rpbShape));
        boolean rpbUsed = g.inputs().size() > 3;
        double[] want = NeighborhoodReference.attend(in.q, in.k, in.v, rpbUsed ? in.rpb : null, in.batch, in.heads, cs.spatial(), in.dim,
                cs.kernel(), cs.dilation(), cs.causal(), scale);
        float[] got;
        try (OnnxSession s = OnnxSession.open(file)) {
            NdArray out = s.run(feeds).get("y");
            assertThat(out.shape()).as(what).containsExactly(in.qShape);
            got = out.data();
        }
        double maxErr = 0;
        for (int i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
        assertThat(maxErr).as("%s: max abs error", what).isLessThan(2e-5);
        return file;
    }

    static List<Case> all() {
        return new ArrayList<>(cases().toList());
    }
}
