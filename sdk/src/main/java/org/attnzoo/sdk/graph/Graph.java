package org.attnzoo.sdk.graph;

import org.attnzoo.sdk.onnx.proto.OnnxIr.AttributeProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.FunctionProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.NodeProto;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.TensorData;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.attnzoo.sdk.graph.Shapes.DYN;
import static org.attnzoo.sdk.graph.Shapes.str;

/**
 * Builds one ONNX graph. Ops are plain methods, one per ONNX op we use plus a few composites that
 * ONNX Runtime fuses well; each checks its inputs' shapes and computes its output shape, so a wrong
 * reshape fails here, naming the op and both shapes. {@link #toModel()} / {@link OnnxModel} turn
 * the result into a model file.
 */
public final class Graph {
    /** The default opset of the standard domain. */
    public static final int DEFAULT_OPSET = 17;

    final String name;
    final int opset;
    final List<Value> inputs = new ArrayList<>();
    final List<Value> outputs = new ArrayList<>();
    final List<NodeProto> nodes = new ArrayList<>();
    final Map<String, Initializer> initializers = new LinkedHashMap<>();
    final Map<String, Long> opsetImports = new LinkedHashMap<>();
    final Map<String, FunctionProto> functions = new LinkedHashMap<>();
    final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Integer> counters = new HashMap<>();
    private final Map<String, Value> constCache = new HashMap<>();
    private final Map<String, Object> memo = new HashMap<>();
    private String scopePrefix = "";
    private long macs;
    private long pendingMacs;                                   // counted by an op method, not yet given to its node
    private final Map<String, Long> nodeMacs = new HashMap<>();  // node name -> its multiply-accumulates

    /** One stored tensor: its bytes come from a checkpoint view or from data computed here. */
    public record Initializer(String name, DType dtype, long[] shape, TensorData data, String doc) {
        public long byteSize() {
            return Shapes.numel(shape) * dtype.size;
        }
    }

    public Graph(String name) {
        this(name, DEFAULT_OPSET);
    }

    public Graph(String name, int opset) {
        this.name = name;
        this.opset = opset;
        opsetImports.put("", (long) opset);
    }

    public String name() {
        return name;
    }

    public int opset() {
        return opset;
    }

    // ------------------------------------------------------------------ names and scopes

    /** A unique value/node name with the given stem, under the current name scope. */
    public String fresh(String stem) {
        String base = scopePrefix + stem;
        int n = counters.merge(base, 1, Integer::sum);
        return n == 1 ? base : base + "_" + (n - 1);
    }

    /** Runs {@code body} with node names prefixed by {@code prefix/}; returns its result. */
    public <T> T named(String prefix, java.util.function.Supplier<T> body) {
        String saved = scopePrefix;
        scopePrefix = saved + prefix + "/";
        try {
            return body.get();
        } finally {
            scopePrefix = saved;
        }
    }

    // ------------------------------------------------------------------ graph interface

    public Value input(String name, DType dtype, long... shape) {
        Value v = new Value(this, name, dtype, shape);
        inputs.add(v);
        return v;
    }

    /** Marks {@code v} as a graph output named {@code name} (an Identity is added when renaming). */
    public Value output(Value v, String name) {
        own(v);
        Value out = v;
        if (!v.name().equals(name)) {
            out = new Value(this, name, v.dtype(), v.shape());
            nodes.add(node("Identity", "", List.of(v.name()), List.of(name), List.of()));
        }
        outputs.add(out);
        return out;
    }

    public void metadata(String key, String value) {
        metadata.put(key, value);
    }

    public Map<String, String> metadata() {
        return Map.copyOf(metadata);
    }

    public List<Value> inputs() {
        return List.copyOf(inputs);
    }

    public List<Value> outputs() {
        return List.copyOf(outputs);
    }

    /**
     * Multiply-accumulates of the MatMul, Gemm and Conv nodes for one sample (run-time sizes
     * counted as 1): the work a FLOP floor is computed from (FLOPs = 2 × MACs).
     */
    public long macs() {
        return macs;
    }

    /** Adds work done by nodes the builder cannot see into (e.g. function bodies). */
    public void addMacs(long n) {
        macs += n;
        if (nodes.isEmpty()) {
            pendingMacs += n;
        } else {
            nodeMacs.merge(nodes.get(nodes.size() - 1).getName(), n, Long::sum);
        }
    }

    private void countMacs(long n) {
        macs += n;
        pendingMacs += n;
    }

    /**
     * Removes the nodes no graph output depends on, the initializers only they read and the
     * functions no remaining node (or function body) calls; the MAC count drops their work. Used
     * when a model is built for some of its values (a backbone's feature maps, an embedding): the
     * forward pass is written once, and what the chosen outputs do not need is cut away.
     */
    public void prune() {
        java.util.Set<String> needed = new java.util.HashSet<>();
        for (Value v : outputs) needed.add(v.name());
        List<NodeProto> kept = new ArrayList<>();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            NodeProto n = nodes.get(i);
            boolean keep = false;
            for (String o : n.getOutputList()) keep |= needed.contains(o);
            if (!keep) continue;
            kept.add(n);
            needed.addAll(n.getInputList());
        }
        java.util.Collections.reverse(kept);
        nodes.clear();
        nodes.addAll(kept);
        initializers.keySet().retainAll(needed);
        java.util.Set<String> called = new java.util.HashSet<>();
        for (NodeProto n : kept) called.add(n.getDomain() + "::" + n.getOpType());
        for (FunctionProto f : functions.values()) {
            for (NodeProto n : f.getNodeList()) called.add(n.getDomain() + "::" + n.getOpType());
        }
        functions.keySet().retainAll(called);
        long m = pendingMacs;
        for (NodeProto n : kept) m += nodeMacs.getOrDefault(n.getName(), 0L);
        macs = m;
    }

    private static long prod(long[] s, int from, int to) {
        long n = 1;
        for (int i = from; i < to; i++) n *= s[i] == DYN ? 1 : s[i];
        return n;
    }

    public int nodeCount() {
        return nodes.size();
    }

    public Map<String, Initializer> initializers() {
        return java.util.Collections.unmodifiableMap(initializers);
    }

    /** Total number of stored weight elements (constants included). */
    public long initializerElements() {
        long n = 0;
        for (Initializer i : initializers.values()) n += Shapes.numel(i.shape());
        return n;
    }

    // ------------------------------------------------------------------ initializers and constants

    /** Adds a stored tensor under an exact name (e.g. a PyTorch parameter path). */
    public Value initializer(String name, TensorData data, String doc) {
        if (initializers.containsKey(name)) {
            throw new IllegalArgumentException("initializer '" + name + "' is defined twice");
        }
        DType dt = data.dtype();
        initializers.put(name, new Initializer(name, dt, data.shape(), data, doc));
        return new Value(this, name, dt, data.shape());
    }

    public Value initializer(String name, TensorData data) {
        return initializer(name, data, null);
    }

    /** A float32 constant. */
    public Value constant(String stem, float[] data, long... shape) {
        return initializer(fresh(stem), new FloatTensor(shape, data), null);
    }

    public Value scalar(float v) {
        String key = "f:" + Float.floatToIntBits(v);
        return constCache.computeIfAbsent(key, k -> constant("const", new float[]{v}));
    }

    /** An int64 vector constant (shapes, axes, indices); cached by value. */
    public Value ints(long... values) {
        String key = "i:" + Arrays.toString(values);
        return constCache.computeIfAbsent(key, k -> initializer(fresh("const"), new LongTensor(new long[]{values.length}, values.clone()), null));
    }

    /**
     * Something built once per graph under {@code key} (e.g. a custom op's static index tables,
     * shared by every layer of one signature). Held by the graph itself, so it lives exactly as long
     * as the graph: a static map keyed by graphs would keep every graph alive through its values.
     */
    @SuppressWarnings("unchecked")
    public synchronized <T> T memo(String key, java.util.function.Supplier<T> make) {
        Object v = memo.get(key);
        if (v == null) {
            v = make.get();
            memo.put(key, v);
        }
        return (T) v;
    }

    /** An int64 tensor constant of any shape. */
    public Value intsTensor(String stem, long[] values, long... shape) {
        return initializer(fresh(stem), new LongTensor(shape, values), null);
    }

    /** In-memory int64 tensor. */
    public record LongTensor(long[] shape, long[] data) implements TensorData {
        @Override
        public DType dtype() {
            return DType.I64;
        }

        @Override
        public ByteBuffer rawBytes() {
            ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(data);
            return b.order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    // ------------------------------------------------------------------ generic node

    private void own(Value v) {
        if (v.graph() != this) {
            throw new IllegalArgumentException("value " + v.name() + " belongs to another graph");
        }
    }

    static NodeProto node(String op, String domain, List<String> ins, List<String> outs, List<AttributeProto> attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).addAllInput(ins).addAllOutput(outs).addAllAttribute(attrs);
        if (!domain.isEmpty()) b.setDomain(domain);
        return b.build();
    }

    /**
     * Adds a node with outputs of the given types; the low-level entry every op method uses. An
     * input may be null for an omitted optional input.
     */
    public Value[] op(String opType, String domain, Value[] ins, DType[] outTypes, long[][] outShapes, AttributeProto... attrs) {
        List<String> inNames = new ArrayList<>();
        for (Value v : ins) {
            if (v == null) {
                inNames.add("");
            } else {
                own(v);
                inNames.add(v.name());
            }
        }
        String nodeName = fresh(opType);
        Value[] outs = new Value[outTypes.length];
        List<String> outNames = new ArrayList<>();
        for (int i = 0; i < outs.length; i++) {
            String n = outs.length == 1 ? nodeName : nodeName + ":" + i;
            outs[i] = new Value(this, n, outTypes[i], outShapes[i]);
            outNames.add(n);
        }
        NodeProto.Builder b = node(opType, domain, inNames, outNames, List.of(attrs)).toBuilder().setName(nodeName);
        nodes.add(b.build());
        if (pendingMacs != 0) {
            nodeMacs.merge(nodeName, pendingMacs, Long::sum);
            pendingMacs = 0;
        }
        return outs;
    }

    /** A single-output standard-domain node. */
    public Value op1(String opType, Value[] ins, DType outType, long[] outShape, AttributeProto... attrs) {
        return op(opType, "", ins, new DType[]{outType}, new long[][]{outShape}, attrs)[0];
    }

    /** Registers a model-local function and its domain's opset import. */
    public void addFunction(FunctionProto f, long domainVersion) {
        functions.putIfAbsent(f.getDomain() + "::" + f.getName(), f);
        useDomain(f.getDomain(), domainVersion);
    }

    public boolean hasFunction(String domain, String fname) {
        return functions.containsKey(domain + "::" + fname);
    }

    public void useDomain(String domain, long version) {
        Long prev = opsetImports.putIfAbsent(domain, version);
        if (prev != null && prev != version) {
            throw new IllegalArgumentException("domain " + domain + " imported at versions " + prev + " and " + version);
        }
    }

    // ------------------------------------------------------------------ elementwise

    private Value binary(String op, Value a, Value b) {
        return op1(op, new Value[]{a, b}, a.dtype(), Shapes.broadcast(op, a.shape(), b.shape()));
    }

    public Value add(Value a, Value b) {
        return binary("Add", a, b);
    }

    public Value sub(Value a, Value b) {
        return binary("Sub", a, b);
    }

    public Value mul(Value a, Value b) {
        return binary("Mul", a, b);
    }

    public Value div(Value a, Value b) {
        return binary("Div", a, b);
    }

    public Value pow(Value a, Value b) {
        return binary("Pow", a, b);
    }

    public Value mul(Value a, float s) {
        return mul(a, scalar(s));
    }

    public Value add(Value a, float s) {
        return add(a, scalar(s));
    }

    private Value unary(String op, Value x, AttributeProto... attrs) {
        return op1(op, new Value[]{x}, x.dtype(), x.shape(), attrs);
    }

    public Value relu(Value x) {
        return unary("Relu", x);
    }

    public Value sigmoid(Value x) {
        return unary("Sigmoid", x);
    }

    public Value tanh(Value x) {
        return unary("Tanh", x);
    }

    public Value erf(Value x) {
        return unary("Erf", x);
    }

    public Value sqrt(Value x) {
        return unary("Sqrt", x);
    }

    public Value exp(Value x) {
        return unary("Exp", x);
    }

    public Value neg(Value x) {
        return unary("Neg", x);
    }

    public Value identity(Value x) {
        return unary("Identity", x);
    }

    /** Exact GELU, {@code x * 0.5 * (1 + erf(x / sqrt(2)))}, in the pattern ONNX Runtime fuses into one Gelu kernel. */
    public Value gelu(Value x) {
        Value e = erf(div(x, scalar(1.4142135381698608f)));
        return mul(mul(x, add(e, scalar(1f))), scalar(0.5f));
    }

    /** SiLU / swish: {@code x * sigmoid(x)}. */
    public Value silu(Value x) {
        return mul(x, sigmoid(x));
    }

    public Value hardSigmoid(Value x, float alpha, float beta) {
        return unary("HardSigmoid", x, Attr.f("alpha", alpha), Attr.f("beta", beta));
    }

    public Value softmax(Value x, int axis) {
        Shapes.axis(axis, x.rank(), "Softmax");
        return unary("Softmax", x, Attr.i("axis", axis));
    }

    public Value cast(Value x, DType to) {
        return op1("Cast", new Value[]{x}, to, x.shape(), Attr.i("to", to.onnxType));
    }

    // ------------------------------------------------------------------ linear algebra

    /** NumPy matmul with broadcasting over leading dimensions. */
    public Value matMul(Value a, Value b) {
        long[] sa = a.shape(), sb = b.shape();
        if (sa.length < 2 || sb.length < 2) {
            throw new ShapeException("MatMul: operands must have rank >= 2, got " + str(sa) + " and " + str(sb));
        }
        long k1 = sa[sa.length - 1], k2 = sb[sb.length - 2];
        if (k1 != DYN && k2 != DYN && k1 != k2) {
            throw new ShapeException("MatMul(" + a.name() + ", " + b.name() + "): inner dimensions differ: " + str(sa) + " x " + str(sb));
        }
        long[] batch = Shapes.broadcast("MatMul", Arrays.copyOf(sa, sa.length - 2), Arrays.copyOf(sb, sb.length - 2));
        long[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = sa[sa.length - 2];
        out[batch.length + 1] = sb[sb.length - 1];
        countMacs(prod(out, 0, out.length) * (k1 == DYN ? 1 : k1));
        return op1("MatMul", new Value[]{a, b}, a.dtype(), out);
    }

    /** 2-D {@code alpha * A' * B' + beta * C}. */
    public Value gemm(Value a, Value b, Value c, boolean transB) {
        long m = a.dim(0), n = transB ? b.dim(0) : b.dim(1);
        long ka = a.dim(1), kb = transB ? b.dim(1) : b.dim(0);
        if (a.rank() != 2 || b.rank() != 2 || ka != kb) {
            throw new ShapeException("Gemm: bad shapes " + str(a.shape()) + " x " + str(b.shape()) + (transB ? "^T" : ""));
        }
        countMacs((m == DYN ? 1 : m) * n * ka);
        return op1("Gemm", c == null ? new Value[]{a, b} : new Value[]{a, b, c}, a.dtype(), new long[]{m, n}, Attr.i("transB", transB ? 1 : 0));
    }

    // ------------------------------------------------------------------ shape ops

    /**
     * Reshape to {@code dims}; one entry may be -1 (inferred). Static sizes are checked here; an
     * inferred dimension of an input with a run-time size becomes a run-time size.
     */
    public Value reshape(Value x, long... dims) {
        long[] in = x.shape();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) throw new ShapeException("Reshape " + str(in) + " -> " + Arrays.toString(dims) + ": more than one -1");
                infer = i;
            } else if (dims[i] <= 0) {
                throw new ShapeException("Reshape " + str(in) + " -> " + Arrays.toString(dims) + ": sizes must be positive or -1");
            } else {
                known *= dims[i];
            }
        }
        long[] out = dims.clone();
        if (Shapes.isStatic(in)) {
            long n = Shapes.numel(in);
            if (infer >= 0) {
                if (n % known != 0) throw new ShapeException("Reshape " + x.name() + " " + str(in) + " -> " + Arrays.toString(dims) + ": " + n + " elements do not divide by " + known);
                out[infer] = n / known;
            } else if (n != known) {
                throw new ShapeException("Reshape " + x.name() + " " + str(in) + " -> " + str(dims) + ": " + n + " elements vs " + known);
            }
        } else {
            if (infer < 0) {
                throw new ShapeException("Reshape " + x.name() + " " + str(in) + " -> " + str(dims) + ": the input has a run-time size, so the target needs a -1");
            }
            long sn = Shapes.staticNumel(in);
            if (sn % known != 0 && known % sn != 0) {
                throw new ShapeException("Reshape " + x.name() + " " + str(in) + " -> " + Arrays.toString(dims) + ": static sizes " + sn + " and " + known + " are incompatible");
            }
            out[infer] = DYN;
        }
        return op1("Reshape", new Value[]{x, ints(dims)}, x.dtype(), out);
    }

    public Value transpose(Value x, int... perm) {
        long[] in = x.shape();
        if (perm.length != in.length) throw new ShapeException("Transpose " + str(in) + ": perm " + Arrays.toString(perm) + " has the wrong length");
        long[] out = new long[in.length];
        long[] p = new long[perm.length];
        boolean[] seen = new boolean[perm.length];
        for (int i = 0; i < perm.length; i++) {
            if (perm[i] < 0 || perm[i] >= in.length || seen[perm[i]]) throw new ShapeException("Transpose: bad perm " + Arrays.toString(perm));
            seen[perm[i]] = true;
            out[i] = in[perm[i]];
            p[i] = perm[i];
        }
        return op1("Transpose", new Value[]{x}, x.dtype(), out, Attr.ints("perm", p));
    }

    public Value concat(int axis, Value... xs) {
        int r = xs[0].rank();
        int a = Shapes.axis(axis, r, "Concat");
        long[] out = xs[0].shape();
        long total = 0;
        boolean dyn = false;
        for (Value v : xs) {
            long[] s = v.shape();
            if (s.length != r) throw new ShapeException("Concat: ranks differ: " + str(out) + " vs " + str(s));
            for (int i = 0; i < r; i++) {
                if (i != a && s[i] != out[i] && s[i] != DYN && out[i] != DYN) {
                    throw new ShapeException("Concat on axis " + axis + ": shapes " + str(xs[0].shape()) + " and " + str(s) + " differ on axis " + i);
                }
            }
            if (s[a] == DYN) dyn = true;
            else total += s[a];
        }
        out[a] = dyn ? DYN : total;
        return op1("Concat", xs, xs[0].dtype(), out, Attr.i("axis", a));
    }

    /** Static slice along the given axes ({@code ends} clamp like ONNX; use Long.MAX_VALUE for "to the end"). */
    public Value slice(Value x, long[] starts, long[] ends, long[] axes, long[] steps) {
        long[] out = x.shape();
        for (int i = 0; i < axes.length; i++) {
            int a = Shapes.axis((int) axes[i], x.rank(), "Slice");
            long d = out[a];
            long step = steps == null ? 1 : steps[i];
            if (step <= 0) throw new ShapeException("Slice: only positive steps are supported here");
            if (d == DYN) {
                throw new ShapeException("Slice of " + x.name() + " " + str(x.shape()) + " along a run-time axis " + a);
            }
            long s = starts[i] < 0 ? Math.max(0, starts[i] + d) : Math.min(starts[i], d);
            long e = ends[i] < 0 ? Math.max(0, ends[i] + d) : Math.min(ends[i], d);
            out[a] = Math.max(0, (e - s + step - 1) / step);
        }
        Value[] ins = steps == null ? new Value[]{x, ints(starts), ints(ends), ints(axes)}
                : new Value[]{x, ints(starts), ints(ends), ints(axes), ints(steps)};
        return op1("Slice", ins, x.dtype(), out);
    }

    public Value slice(Value x, int axis, long start, long end) {
        return slice(x, new long[]{start}, new long[]{end}, new long[]{axis}, null);
    }

    /** Gather with a scalar index: removes {@code axis}. */
    public Value select(Value x, int axis, long index) {
        int a = Shapes.axis(axis, x.rank(), "Gather");
        long[] s = x.shape();
        long[] out = new long[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != a) out[j++] = s[i];
        Value idx = initializer(fresh("index"), new LongTensor(new long[0], new long[]{index}), null);
        return op1("Gather", new Value[]{x, idx}, x.dtype(), out, Attr.i("axis", a));
    }

    /** Gather along {@code axis} with an index tensor. */
    public Value gather(Value x, Value indices, int axis) {
        int a = Shapes.axis(axis, x.rank(), "Gather");
        long[] s = x.shape(), is = indices.shape();
        long[] out = new long[s.length - 1 + is.length];
        int j = 0;
        for (int i = 0; i < a; i++) out[j++] = s[i];
        for (long d : is) out[j++] = d;
        for (int i = a + 1; i < s.length; i++) out[j++] = s[i];
        return op1("Gather", new Value[]{x, indices}, x.dtype(), out, Attr.i("axis", a));
    }

    /** Splits {@code x} along {@code axis} into pieces of the given sizes. */
    public Value[] split(Value x, int axis, long... sizes) {
        int a = Shapes.axis(axis, x.rank(), "Split");
        long sum = 0;
        for (long s : sizes) sum += s;
        if (x.dim(a) != DYN && sum != x.dim(a)) {
            throw new ShapeException("Split " + x.name() + " " + str(x.shape()) + " on axis " + axis + " into " + Arrays.toString(sizes) + ": sizes add up to " + sum);
        }
        DType[] types = new DType[sizes.length];
        long[][] shapes = new long[sizes.length][];
        for (int i = 0; i < sizes.length; i++) {
            types[i] = x.dtype();
            shapes[i] = x.shape();
            shapes[i][a] = sizes[i];
        }
        return op("Split", "", new Value[]{x, ints(sizes)}, types, shapes, Attr.i("axis", a));
    }

    public Value unsqueeze(Value x, long... axes) {
        int r = x.rank() + axes.length;
        long[] out = new long[r];
        boolean[] ins = new boolean[r];
        for (long a : axes) ins[Shapes.axis((int) a, r, "Unsqueeze")] = true;
        for (int i = 0, j = 0; i < r; i++) out[i] = ins[i] ? 1 : x.dim(j++);
        return op1("Unsqueeze", new Value[]{x, ints(axes)}, x.dtype(), out);
    }

    public Value squeeze(Value x, long... axes) {
        boolean[] drop = new boolean[x.rank()];
        for (long a : axes) {
            int i = Shapes.axis((int) a, x.rank(), "Squeeze");
            if (x.dim(i) != 1) throw new ShapeException("Squeeze " + str(x.shape()) + ": axis " + a + " is not 1");
            drop[i] = true;
        }
        long[] out = new long[x.rank() - axes.length];
        for (int i = 0, j = 0; i < x.rank(); i++) if (!drop[i]) out[j++] = x.dim(i);
        return op1("Squeeze", new Value[]{x, ints(axes)}, x.dtype(), out);
    }

    /** Flattens dims from {@code axis} on into one (ONNX Flatten gives 2-D; this keeps leading dims). */
    public Value flattenFrom(Value x, int axis) {
        int a = Shapes.axis(axis, x.rank(), "Flatten");
        long[] dims = new long[a + 1];
        long rest = 1;
        for (int i = 0; i < a; i++) dims[i] = x.dim(i) == DYN ? -1 : x.dim(i);
        for (int i = a; i < x.rank(); i++) rest *= x.dim(i);
        dims[a] = rest;
        return reshape(x, dims);
    }

    /** The run-time shape of {@code x} as an int64 vector (optionally a [start, end) range of it). */
    public Value shapeOf(Value x, int start, int end) {
        return op1("Shape", new Value[]{x}, DType.I64, new long[]{end - start}, Attr.i("start", start), Attr.i("end", end));
    }

    /** Expands a value with a leading dimension of 1 to the run-time batch size of {@code like}. */
    public Value expandBatch(Value x, Value like) {
        if (x.dim(0) != 1) throw new ShapeException("expandBatch: leading dim of " + str(x.shape()) + " must be 1");
        long[] rest = Arrays.copyOfRange(x.shape(), 1, x.rank());
        Value target = concat(0, shapeOf(like, 0, 1), ints(rest));
        long[] out = x.shape();
        out[0] = like.dim(0);
        return op1("Expand", new Value[]{x, target}, x.dtype(), out);
    }

    // ------------------------------------------------------------------ reductions and norms

    private Value reduce(String op, Value x, boolean keepDims, long... axes) {
        long[] s = x.shape();
        boolean[] r = new boolean[s.length];
        for (long a : axes) r[Shapes.axis((int) a, s.length, op)] = true;
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            if (!r[i]) out.add(s[i]);
            else if (keepDims) out.add(1L);
        }
        long[] o = out.stream().mapToLong(Long::longValue).toArray();
        if (op.equals("ReduceSum")) {
            return op1(op, new Value[]{x, ints(axes)}, x.dtype(), o, Attr.i("keepdims", keepDims ? 1 : 0));
        }
        return op1(op, new Value[]{x}, x.dtype(), o, Attr.ints("axes", axes), Attr.i("keepdims", keepDims ? 1 : 0));
    }

    public Value reduceMean(Value x, boolean keepDims, long... axes) {
        return reduce("ReduceMean", x, keepDims, axes);
    }

    public Value reduceSum(Value x, boolean keepDims, long... axes) {
        return reduce("ReduceSum", x, keepDims, axes);
    }

    public Value reduceMax(Value x, boolean keepDims, long... axes) {
        return reduce("ReduceMax", x, keepDims, axes);
    }

    /** LayerNormalization over the trailing dims from {@code axis}. */
    public Value layerNorm(Value x, Value scale, Value bias, float eps, int axis) {
        int a = Shapes.axis(axis, x.rank(), "LayerNormalization");
        long[] norm = Arrays.copyOfRange(x.shape(), a, x.rank());
        if (!Arrays.equals(scale.shape(), norm) || (bias != null && !Arrays.equals(bias.shape(), norm))) {
            throw new ShapeException("LayerNormalization of " + x.name() + " " + str(x.shape()) + ": scale " + str(scale.shape())
                    + (bias == null ? "" : " / bias " + str(bias.shape())) + " must be " + str(norm));
        }
        Value[] ins = bias == null ? new Value[]{x, scale} : new Value[]{x, scale, bias};
        return op1("LayerNormalization", ins, x.dtype(), x.shape(), Attr.i("axis", a), Attr.f("epsilon", eps));
    }

    // ------------------------------------------------------------------ convolution and pooling

    /** 2-D convolution, NCHW; {@code pads} as (top, left, bottom, right). */
    public Value conv2d(Value x, Value w, Value b, int[] stride, int[] pads, int[] dilation, int groups) {
        long[] s = x.shape(), ws = w.shape();
        if (s.length != 4 || ws.length != 4) throw new ShapeException("Conv: input " + str(s) + " and weight " + str(ws) + " must be 4-D");
        if (s[1] != DYN && s[1] != ws[1] * groups) {
            throw new ShapeException("Conv(" + w.name() + "): input has " + s[1] + " channels, weight " + str(ws) + " with groups=" + groups + " expects " + ws[1] * groups);
        }
        if (b != null && (b.rank() != 1 || b.dim(0) != ws[0])) throw new ShapeException("Conv: bias " + str(b.shape()) + " for weight " + str(ws));
        long[] out = new long[]{s[0], ws[0], 0, 0};
        for (int i = 0; i < 2; i++) {
            long in = s[2 + i];
            long k = ws[2 + i];
            long eff = dilation[i] * (k - 1) + 1;
            out[2 + i] = in == DYN ? DYN : (in + pads[i] + pads[i + 2] - eff) / stride[i] + 1;
            if (out[2 + i] != DYN && out[2 + i] <= 0) throw new ShapeException("Conv: output size <= 0 for input " + str(s) + " weight " + str(ws));
        }
        countMacs(prod(out, 0, 4) * ws[1] * ws[2] * ws[3]);
        Value[] ins = b == null ? new Value[]{x, w} : new Value[]{x, w, b};
        return op1("Conv", ins, x.dtype(), out,
                Attr.ints("kernel_shape", ws[2], ws[3]),
                Attr.ints("strides", stride[0], stride[1]),
                Attr.ints("pads", pads[0], pads[1], pads[2], pads[3]),
                Attr.ints("dilations", dilation[0], dilation[1]),
                Attr.i("group", groups));
    }

    private Value pool2d(String op, Value x, int[] kernel, int[] stride, int[] pads, boolean countIncludePad, boolean ceil) {
        long[] s = x.shape();
        long[] out = new long[]{s[0], s[1], 0, 0};
        for (int i = 0; i < 2; i++) {
            long num = s[2 + i] + pads[i] + pads[i + 2] - kernel[i];
            out[2 + i] = (ceil ? (num + stride[i] - 1) / stride[i] : num / stride[i]) + 1;
        }
        List<AttributeProto> attrs = new ArrayList<>(List.of(Attr.ints("kernel_shape", kernel[0], kernel[1]),
                Attr.ints("strides", stride[0], stride[1]), Attr.ints("pads", pads[0], pads[1], pads[2], pads[3]),
                Attr.i("ceil_mode", ceil ? 1 : 0)));
        if (op.equals("AveragePool")) attrs.add(Attr.i("count_include_pad", countIncludePad ? 1 : 0));
        return op1(op, new Value[]{x}, x.dtype(), out, attrs.toArray(new AttributeProto[0]));
    }

    public Value maxPool2d(Value x, int[] kernel, int[] stride, int[] pads, boolean ceil) {
        return pool2d("MaxPool", x, kernel, stride, pads, false, ceil);
    }

    public Value avgPool2d(Value x, int[] kernel, int[] stride, int[] pads, boolean countIncludePad, boolean ceil) {
        return pool2d("AveragePool", x, kernel, stride, pads, countIncludePad, ceil);
    }

    public Value globalAvgPool(Value x) {
        long[] s = x.shape();
        long[] out = s.clone();
        for (int i = 2; i < s.length; i++) out[i] = 1;
        return op1("GlobalAveragePool", new Value[]{x}, x.dtype(), out);
    }

    public Value pad(Value x, long[] pads, float value) {
        long[] s = x.shape();
        int r = s.length;
        long[] out = s.clone();
        for (int i = 0; i < r; i++) if (s[i] != DYN) out[i] = s[i] + pads[i] + pads[i + r];
        return op1("Pad", new Value[]{x, ints(pads), scalar(value)}, x.dtype(), out, Attr.s("mode", "constant"));
    }

    public Value where(Value cond, Value a, Value b) {
        long[] s = Shapes.broadcast("Where", cond.shape(), Shapes.broadcast("Where", a.shape(), b.shape()));
        return op1("Where", new Value[]{cond, a, b}, a.dtype(), s);
    }
}
