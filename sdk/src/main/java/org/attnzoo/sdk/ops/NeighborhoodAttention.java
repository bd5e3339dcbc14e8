package org.attnzoo.sdk.ops;

import org.attnzoo.sdk.graph.Attr;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.ShapeException;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.onnx.proto.OnnxIr.AttributeProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.AttributeProto.AttributeType;
import org.attnzoo.sdk.onnx.proto.OnnxIr.FunctionProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.NodeProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.OperatorSetIdProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.TensorProto;
import org.attnzoo.sdk.tensor.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Neighbourhood attention (NATTEN semantics, see {@link NeighborhoodWindows}) as custom ops
 * {@code NeighborhoodAttention1D/2D/3D} in domain {@value #DOMAIN}, version {@value #VERSION}, each
 * with a model-local ONNX function of standard opset-17 ops, so stock ONNX Runtime runs it and a
 * registered native kernel for the same (domain, op) replaces it. See docs/custom-ops.md.
 *
 * <p>Layout, heads first: q, k, v {@code [B, heads, *spatial, head_dim]}; output the same as q.
 * Node inputs: {@code Q, K, V, RPB, Q_INDEX, KV_INDEX, BIAS_INDEX, OUT_INDEX}. {@code RPB} is the
 * bias table {@code [heads, 2k₁-1, ...]}; without one, a {@code [1, 1, ...]} zero table is passed.
 * The four int64 index tables are computed here at build time from the resolution and attributes
 * (see {@link NeighborhoodTiles}: queries in tiles against the union of their windows, the tile
 * size chosen by shape), stored once per graph and signature; a native kernel may ignore them.
 * Attributes: {@code kernel_size}, {@code dilation}, {@code is_causal} (ints, one per
 * axis) and {@code scale} (float, multiplies q·k before the bias is added).
 */
public final class NeighborhoodAttention {
    public static final String DOMAIN = "org.attnzoo.neighborhood";
    public static final int VERSION = 2;
    private static final int OPSET = 17;

    private NeighborhoodAttention() {
    }

    public static String opType(int dims) {
        return "NeighborhoodAttention" + dims + "D";
    }

    public static Value op1d(Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal, float scale, boolean inline) {
        return apply(1, g, q, k, v, rpb, kernel, dilation, causal, scale, inline);
    }

    public static Value op2d(Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal, float scale, boolean inline) {
        return apply(2, g, q, k, v, rpb, kernel, dilation, causal, scale, inline);
    }

    public static Value op3d(Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal, float scale, boolean inline) {
        return apply(3, g, q, k, v, rpb, kernel, dilation, causal, scale, inline);
    }

    /**
     * The op with the function body's tile size per axis forced ({@code null}: chosen by
     * {@link NeighborhoodTiles#choose}). {@code 1} on every axis is the per-query gathered form,
     * a size at least the axis length the dense masked form. Semantics do not depend on it.
     */
    public static Value opTiled(Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal, float scale,
                                boolean inline, int[] tile) {
        return apply(kernel.length, g, q, k, v, rpb, kernel, dilation, causal, scale, inline, tile);
    }

    /** Defaults: dilation 1, non-causal on every axis. */
    public static boolean[] noCausal(int dims) {
        return new boolean[dims];
    }

    public static String avOpType(int dims) {
        return "NeighborhoodAttentionAV" + dims + "D";
    }

    /**
     * NATTEN's {@code na{1,2,3}d_av}: given attention weights {@code attn [B, heads, *spatial,
     * window]} (window slots row-major over the per-axis kernel offsets, as NATTEN orders them) and
     * values {@code v [B, heads, *spatial, D]}, each query's weighted sum of the values in its
     * neighbourhood, {@code [B, heads, *spatial, D]}. Op {@code NeighborhoodAttentionAV{dims}D} in
     * the same domain (node inputs {@code ATTN, V, NEIGHBORS}; attributes {@code kernel_size},
     * {@code dilation}, {@code is_causal}) with a standard-op function body: one Gather of the value
     * rows and a batched {@code [1, window] × [window, D]} MatMul per query. For causal windows the
     * slots a window does not fill point at the query itself; their weights must be 0.
     */
    public static Value av(Graph g, Value attn, Value v, int[] kernel, int[] dilation, boolean[] causal, boolean inline) {
        int dims = kernel.length;
        String op = avOpType(dims);
        int[] spatial = spatialOf(v, dims, op);
        if (dilation == null) dilation = filled(dims, 1);
        if (causal == null) causal = noCausal(dims);
        NeighborhoodWindows.Tables t = NeighborhoodWindows.tables(spatial, kernel, dilation, causal, false);
        long[] want = v.shape();
        want[want.length - 1] = t.window();
        long[] got = attn.shape();
        boolean ok = got.length == want.length;
        for (int a = 1; ok && a < want.length; a++) ok = got[a] == want[a];
        if (!ok) throw new ShapeException(op + ": attn " + attn + " must be " + Shapes.str(want) + " for v " + v);
        Value nb = neighborTable(g, t, kernel, dilation, causal);
        Value[] ins = {attn, v, nb};
        if (inline) {
            InlineSink sink = new InlineSink(g);
            Value out = NeighborhoodAttention.<Value>avBody(sink, ins);
            return g.op1("Identity", new Value[]{out}, v.dtype(), v.shape());
        }
        if (!g.hasFunction(DOMAIN, op)) g.addFunction(avFunction(dims), VERSION);
        long[] causalInts = new long[dims];
        for (int a = 0; a < dims; a++) causalInts[a] = causal[a] ? 1 : 0;
        return g.op(op, DOMAIN, ins, new DType[]{v.dtype()}, new long[][]{v.shape()},
                Attr.ints("kernel_size", toLongs(kernel)), Attr.ints("dilation", toLongs(dilation)), Attr.ints("is_causal", causalInts))[0];
    }

    /** The spatial sizes of a heads-first {@code [B, heads, *spatial, head_dim]} tensor, checked static. */
    static int[] spatialOf(Value q, int dims, String what) {
        if (q.rank() != dims + 3) {
            throw new ShapeException(what + ": q " + q + " must be [B, heads, " + dims + " spatial axes, head_dim]");
        }
        int[] s = new int[dims];
        for (int a = 0; a < dims; a++) {
            long d = q.dim(2 + a);
            if (d == Shapes.DYN) throw new ShapeException(what + ": spatial axis " + a + " of " + q + " must have a build-time size");
            s[a] = Math.toIntExact(d);
        }
        return s;
    }

    private static Value apply(int dims, Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal,
                               float scale, boolean inline) {
        return apply(dims, g, q, k, v, rpb, kernel, dilation, causal, scale, inline, null);
    }

    private static Value apply(int dims, Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal,
                               float scale, boolean inline, int[] tile) {
        String op = opType(dims);
        int[] spatial = spatialOf(q, dims, op);
        for (Value t : new Value[]{k, v}) {
            if (!Arrays.equals(t.shape(), q.shape())) {
                throw new ShapeException(op + ": q " + q + ", k " + k + " and v " + v + " must have the same shape");
            }
        }
        if (dilation == null) dilation = filled(dims, 1);
        if (causal == null) causal = noCausal(dims);
        NeighborhoodWindows.Tables t = NeighborhoodWindows.tables(spatial, kernel, dilation, causal, rpb != null);
        if (rpb != null) {
            long[] want = new long[dims + 1];
            want[0] = q.dim(1);
            for (int a = 0; a < dims; a++) want[a + 1] = 2L * kernel[a] - 1;
            long[] got = rpb.shape();
            boolean ok = got.length == want.length && (got[0] == want[0] || got[0] == 1);
            for (int a = 1; ok && a < want.length; a++) ok = got[a] == want[a];
            if (!ok) throw new ShapeException(op + ": rpb " + rpb + " must be " + Shapes.str(want) + " (or 1 head)");
        }
        if (tile == null) tile = NeighborhoodTiles.choose(spatial, kernel, dilation, causal, Math.toIntExact(q.dim(-1)));
        if (tile.length != dims) throw new IllegalArgumentException(op + ": tile " + Arrays.toString(tile) + " must have " + dims + " entries");
        Value[] idx = tiledTables(g, spatial, kernel, dilation, causal, rpb != null, tile);
        Value bias = rpb != null ? rpb : zeroTable(g, dims);
        Value[] ins = {q, k, v, bias, idx[0], idx[1], idx[2], idx[3]};
        if (inline) {
            return bodyInline(new InlineSink(g), ins, scale, q);
        }
        if (!g.hasFunction(DOMAIN, op)) g.addFunction(function(dims), VERSION);
        long[] causalInts = new long[dims];
        for (int a = 0; a < dims; a++) causalInts[a] = causal[a] ? 1 : 0;
        return g.op(op, DOMAIN, ins, new DType[]{q.dtype()}, new long[][]{q.shape()},
                Attr.ints("kernel_size", toLongs(kernel)), Attr.ints("dilation", toLongs(dilation)),
                Attr.ints("is_causal", causalInts), Attr.f("scale", scale))[0];
    }

    /**
     * Benchmark baseline: the same attention as dense {@code [tokens, tokens]} scores with a static
     * additive table (bias taps for neighbours, -inf elsewhere). O(tokens²); not for models.
     */
    public static Value maskedFull(Graph g, Value q, Value k, Value v, Value rpb, int[] kernel, int[] dilation, boolean[] causal, float scale) {
        int dims = q.rank() - 3;
        int[] spatial = spatialOf(q, dims, "maskedFull");
        if (dilation == null) dilation = filled(dims, 1);
        if (causal == null) causal = noCausal(dims);
        NeighborhoodWindows.Tables t = NeighborhoodWindows.tables(spatial, kernel, dilation, causal, rpb != null);
        int n = t.tokens(), w = t.window();
        long[] full = new long[n * n];
        Arrays.fill(full, t.taps());
        for (int i = 0; i < n; i++) {
            for (int s = 0; s < w; s++) {
                long bi = t.biasIndex()[i * w + s];
                if (bi != t.taps()) full[i * n + (int) t.neighbors()[i * w + s]] = bi;
            }
        }
        long heads = q.dim(1), hd = q.dim(-1);
        Value table = rpb != null ? g.reshape(rpb, rpb.dim(0), t.taps()) : g.constant("na_zero", new float[1], 1, 1);
        float[] ninf = new float[(int) table.dim(0)];
        Arrays.fill(ninf, Float.NEGATIVE_INFINITY);
        table = g.concat(1, table, g.constant("na_ninf", ninf, table.dim(0), 1));
        Value mask = g.gather(table, g.intsTensor("na_full_index", full, n, n), 1);
        Value qf = g.reshape(q, -1, heads, n, hd);
        Value kf = g.reshape(k, -1, heads, n, hd);
        Value vf = g.reshape(v, -1, heads, n, hd);
        Value s = g.add(g.mul(g.matMul(qf, g.transpose(kf, 0, 1, 3, 2)), scale), mask);
        Value o = g.matMul(g.softmax(s, -1), vf);
        long[] shape = q.shape();
        shape[0] = -1;
        return g.reshape(o, shape);
    }

    // ------------------------------------------------------------------ tables

    private static Value[] tiledTables(Graph g, int[] spatial, int[] kernel, int[] dilation, boolean[] causal, boolean rpb, int[] tile) {
        String key = Arrays.toString(spatial) + Arrays.toString(kernel) + Arrays.toString(dilation) + Arrays.toString(causal) + rpb
                + Arrays.toString(tile);
        return g.memo("org.attnzoo.neighborhood/tiles" + key, () -> {
            NeighborhoodTiles t = NeighborhoodTiles.of(spatial, kernel, dilation, causal, rpb, tile);
            return new Value[]{
                    g.intsTensor("na_q_index", t.qIndex(), t.tiles(), t.tq()),
                    g.intsTensor("na_kv_index", t.kvIndex(), t.tiles(), t.u()),
                    g.intsTensor("na_bias_index", t.biasIndex(), t.tiles(), t.tq(), t.u()),
                    g.intsTensor("na_out_index", t.outIndex(), t.outIndex().length)};
        });
    }

    /** Only the neighbour table (for the AV op), shared per graph and signature. */
    private static Value neighborTable(Graph g, NeighborhoodWindows.Tables t, int[] kernel, int[] dilation, boolean[] causal) {
        String key = "av" + Arrays.toString(t.spatial()) + Arrays.toString(kernel) + Arrays.toString(dilation) + Arrays.toString(causal);
        return g.memo("org.attnzoo.neighborhood/" + key, () -> g.intsTensor("na_neighbors", t.neighbors(), t.tokens(), t.window()));
    }

    private static Value zeroTable(Graph g, int dims) {
        long[] shape = new long[dims + 1];
        Arrays.fill(shape, 1);
        return g.memo("org.attnzoo.neighborhood/zero" + dims, () -> g.constant("na_no_rpb", new float[1], shape));
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static long[] toLongs(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }

    // ------------------------------------------------------------------ the decomposition

    /** Where body nodes go: a FunctionProto under construction, or the graph itself. */
    private interface Sink<T> {
        T node(String op, DType out, List<T> ins, AttributeProto... attrs);

        T constInts(long... v);

        T scale(float value);
    }

    private static final String[] FORMALS = {"Q", "K", "V", "RPB", "Q_INDEX", "KV_INDEX", "BIAS_INDEX", "OUT_INDEX"};

    /**
     * The body, one for every shape of tables (see {@link NeighborhoodTiles}): flatten the spatial
     * axes, scale q, gather the query tiles {@code [B,H,T,tq,D]} and their key and value sets
     * {@code [B,H,T,U,D]}, scores by one batched {@code [tq,D]·[D,U]} MatMul per tile, add the
     * gathered additive table (bias taps inside each query's window, {@code -inf} outside), Softmax
     * over the keys, a batched {@code [tq,U]·[U,D]} MatMul, and gather each token's row back.
     */
    private static <T> T body(Sink<T> s, T[] in, float scale, Value like) {
        T q = in[0], k = in[1], v = in[2], rpb = in[3], qi = in[4], kvi = in[5], bi = in[6], oi = in[7];
        DType f = DType.F32, i64 = DType.I64;
        T bh = s.node("Shape", i64, List.of(q), Attr.i("start", 0), Attr.i("end", 2));
        T hd = s.node("Shape", i64, List.of(q), Attr.i("start", -1));
        T m1 = s.constInts(-1);
        T flat = s.node("Concat", i64, List.of(bh, m1, hd), Attr.i("axis", 0));
        T qf = s.node("Mul", f, List.of(s.node("Reshape", f, List.of(q, flat)), s.scale(scale)));
        T kf = s.node("Reshape", f, List.of(k, flat));
        T vf = s.node("Reshape", f, List.of(v, flat));
        T qt = s.node("Gather", f, List.of(qf, qi), Attr.i("axis", 2));
        T kt = s.node("Gather", f, List.of(kf, kvi), Attr.i("axis", 2));
        T vt = s.node("Gather", f, List.of(vf, kvi), Attr.i("axis", 2));
        T sc = s.node("MatMul", f, List.of(qt, s.node("Transpose", f, List.of(kt), Attr.ints("perm", 0, 1, 2, 4, 3))));
        T hr = s.node("Shape", i64, List.of(rpb), Attr.i("start", 0), Attr.i("end", 1));
        T table = s.node("Reshape", f, List.of(rpb, s.node("Concat", i64, List.of(hr, m1), Attr.i("axis", 0))));
        T ninfShape = s.node("Concat", i64, List.of(hr, s.constInts(1)), Attr.i("axis", 0));
        T ninf = s.node("ConstantOfShape", f, List.of(ninfShape), negInf());
        table = s.node("Concat", f, List.of(table, ninf), Attr.i("axis", 1));
        T bias = s.node("Gather", f, List.of(table, bi), Attr.i("axis", 1));
        sc = s.node("Add", f, List.of(sc, bias));
        T p = s.node("Softmax", f, List.of(sc), Attr.i("axis", -1));
        T o = s.node("MatMul", f, List.of(p, vt));
        o = s.node("Reshape", f, List.of(o, flat));
        o = s.node("Gather", f, List.of(o, oi), Attr.i("axis", 2));
        T shape = s.node("Shape", i64, List.of(q));
        return s.node("Reshape", f, List.of(o, shape));
    }

    /** The AV body: gather each query's value rows {@code [B,H,N,K,D]}, then {@code [1,K]·[K,D]} per query. */
    private static <T> T avBody(Sink<T> s, T[] in) {
        T attn = in[0], v = in[1], nb = in[2];
        DType f = DType.F32, i64 = DType.I64;
        T bh = s.node("Shape", i64, List.of(v), Attr.i("start", 0), Attr.i("end", 2));
        T hd = s.node("Shape", i64, List.of(v), Attr.i("start", -1));
        T win = s.node("Shape", i64, List.of(attn), Attr.i("start", -1));
        T vf = s.node("Reshape", f, List.of(v, s.node("Concat", i64, List.of(bh, s.constInts(-1), hd), Attr.i("axis", 0))));
        T vg = s.node("Gather", f, List.of(vf, nb), Attr.i("axis", 2));
        T af = s.node("Reshape", f, List.of(attn, s.node("Concat", i64, List.of(bh, s.constInts(-1, 1), win), Attr.i("axis", 0))));
        T o = s.node("MatMul", f, List.of(af, vg));
        return s.node("Reshape", f, List.of(o, s.node("Shape", i64, List.of(v))));
    }

    /** The model-local function of {@code NeighborhoodAttentionAV{dims}D}. */
    static FunctionProto avFunction(int dims) {
        FunctionSink s = new FunctionSink();
        String y = avBody(s, new String[]{"ATTN", "V", "NEIGHBORS"});
        List<NodeProto> nodes = new ArrayList<>(s.nodes);
        NodeProto last = nodes.remove(nodes.size() - 1);
        nodes.add(last.toBuilder().setOutput(0, "Y").build());
        if (!y.equals(last.getOutput(0))) throw new IllegalStateException("body output mismatch");
        return FunctionProto.newBuilder().setName(avOpType(dims)).setDomain(DOMAIN)
                .addAllInput(List.of("ATTN", "V", "NEIGHBORS")).addOutput("Y")
                .addAttribute("kernel_size").addAttribute("dilation").addAttribute("is_causal")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setDocString("Neighbourhood attention-times-value (NATTEN's na" + dims + "d_av): attn [B, heads, *spatial, window], "
                        + "v [B, heads, *spatial, D]; NEIGHBORS is the static int64 [tokens, window] table; see AttnZoo docs/custom-ops.md.")
                .addAllNode(nodes).build();
    }

    private static AttributeProto negInf() {
        TensorProto t = TensorProto.newBuilder().setDataType(DType.F32.onnxType).addDims(1).addFloatData(Float.NEGATIVE_INFINITY).build();
        return AttributeProto.newBuilder().setName("value").setType(AttributeType.TENSOR).setT(t).build();
    }

    /** The model-local function of {@code NeighborhoodAttention{dims}D}. */
    static FunctionProto function(int dims) {
        FunctionSink s = new FunctionSink();
        String y = body(s, FORMALS.clone(), 0f, null);
        FunctionProto.Builder b = FunctionProto.newBuilder().setName(opType(dims)).setDomain(DOMAIN)
                .addAllInput(List.of(FORMALS)).addOutput("Y")
                .addAttribute("kernel_size").addAttribute("dilation").addAttribute("is_causal").addAttribute("scale")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setDocString("Neighborhood attention (NATTEN semantics) over " + dims + " spatial axes; q/k/v [B, heads, *spatial, head_dim]. "
                        + "Q_INDEX [T, tq], KV_INDEX [T, U], BIAS_INDEX [T, tq, U] and OUT_INDEX [tokens] are static int64 tile tables "
                        + "(queries in tiles against the union of their windows); see AttnZoo docs/custom-ops.md.");
        List<NodeProto> nodes = new ArrayList<>(s.nodes);
        // the last node's output becomes the function output
        NodeProto last = nodes.remove(nodes.size() - 1);
        nodes.add(last.toBuilder().setOutput(0, "Y").build());
        b.addAllNode(nodes);
        if (!y.equals(last.getOutput(0))) throw new IllegalStateException("body output mismatch");
        return b.build();
    }

    private static final class FunctionSink implements Sink<String> {
        final List<NodeProto> nodes = new ArrayList<>();
        int n;

        @Override
        public String node(String op, DType out, List<String> ins, AttributeProto... attrs) {
            String name = "t" + (n++) + "_" + op;
            nodes.add(NodeProto.newBuilder().setOpType(op).addAllInput(ins).addOutput(name).addAllAttribute(List.of(attrs)).build());
            return name;
        }

        @Override
        public String constInts(long... v) {
            return node("Constant", DType.I64, List.of(), Attr.ints("value_ints", v));
        }

        @Override
        public String scale(float ignored) {
            return node("Constant", DType.F32, List.of(), Attr.ref("value_float", "scale", AttributeType.FLOAT));
        }
    }

    private static final class InlineSink implements Sink<Value> {
        final Graph g;

        InlineSink(Graph g) {
            this.g = g;
        }

        @Override
        public Value node(String op, DType out, List<Value> ins, AttributeProto... attrs) {
            // Intermediate shapes are not serialized; the output gets its real shape in body().
            return g.op(op, "", ins.toArray(new Value[0]), new DType[]{out}, new long[][]{new long[0]}, attrs)[0];
        }

        @Override
        public Value constInts(long... v) {
            return g.ints(v);
        }

        @Override
        public Value scale(float value) {
            return g.scalar(value);
        }
    }

    private static Value bodyInline(InlineSink s, Value[] in, float scale, Value like) {
        Value out = NeighborhoodAttention.<Value>body(s, in, scale, like);
        // re-label with q's static shape for the builder's later shape checks
        return s.g.op1("Identity", new Value[]{out}, like.dtype(), like.shape());
    }
}
