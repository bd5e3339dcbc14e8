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
import org.attnzoo.sdk.tensor.DType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Stripe-window attention (CSWin's cross-shaped-window branches) as the custom op
 * {@value #OP} in domain {@value #DOMAIN}, version {@value #VERSION}, with a model-local ONNX
 * function of standard opset-17 ops (Reshape, Transpose, MatMul, Softmax; no Gather), so stock
 * ONNX Runtime runs it and a registered native kernel for the same (domain, op) replaces it. See
 * docs/custom-ops.md.
 *
 * <p>q, k, v {@code [B, heads, H, W, D]} (heads first); output the same shape. The map is cut into
 * stripes of width {@code sw}: {@link Orientation#VERTICAL} stripes are {@code H × sw} windows
 * (CSWin's branch {@code idx 0}, {@code H_sp = H, W_sp = sw}), {@link Orientation#HORIZONTAL} ones
 * {@code sw × W} (branch {@code idx 1}). Stripes are numbered as CSWin's {@code img2windows} orders
 * its windows (row-major over the window grid, i.e. left to right for vertical stripes, top to
 * bottom for horizontal ones) and the {@code n = Hs·Ws} tokens inside a stripe row-major. Within
 * each stripe: {@code softmax(scale·q·kᵀ + bias + mask)·v}. Node inputs: {@code Q, K, V, BIAS, MASK};
 * bias and mask are additive, broadcastable to {@code [B, heads, stripes, n, n]} (rank 5, each axis
 * its full size or 1); when a caller has none the builder passes a shared {@code [1,1,1,1,1]} zero
 * tensor. Attributes: {@code orientation} (int: 0 vertical, 1 horizontal — CSWin's {@code idx}),
 * {@code stripe_width} (int), {@code scale} (float).
 */
public final class StripeAttention {
    public static final String DOMAIN = "org.attnzoo.strip";
    public static final int VERSION = 1;
    public static final String OP = "StripeAttention2D";
    private static final int OPSET = 17;

    private static final Map<Graph, Map<String, Value>> ZEROS = new WeakHashMap<>();

    /** Stripe direction; the ordinal is the {@code orientation} attribute and CSWin's branch {@code idx}. */
    public enum Orientation {
        /** {@code H × sw} windows (full height), numbered left to right. */
        VERTICAL,
        /** {@code sw × W} windows (full width), numbered top to bottom. */
        HORIZONTAL;

        /** Window height for an {@code h × w} map. */
        public int windowHeight(int h, int width) {
            return this == VERTICAL ? h : width;
        }

        /** Window width for an {@code h × w} map. */
        public int windowWidth(int w, int width) {
            return this == VERTICAL ? width : w;
        }
    }

    private StripeAttention() {
    }

    /** The stripe geometry of one call: map {@code h × w}, windows {@code hs × ws}, a {@code nh × nw} grid of them. */
    public record Stripes(int h, int w, int hs, int ws) {
        public int nh() {
            return h / hs;
        }

        public int nw() {
            return w / ws;
        }

        public int stripes() {
            return nh() * nw();
        }

        public int tokens() {
            return hs * ws;
        }
    }

    /**
     * The stripes of an {@code h × w} map; a side not divisible by the stripe width is an error
     * naming the op, the size and the width (callers pad first, as CSWin's segmentation backbone does).
     */
    public static Stripes stripes(int h, int w, Orientation o, int width) {
        if (width < 1) throw new IllegalArgumentException(OP + ": stripe width " + width + " must be >= 1");
        int side = o == Orientation.VERTICAL ? w : h;
        String axis = o == Orientation.VERTICAL ? "width" : "height";
        if (side % width != 0) {
            throw new IllegalArgumentException(OP + ": map " + axis + " " + side + " (map " + h + "x" + w + ") is not divisible by the "
                    + o.name().toLowerCase() + " stripe width " + width + "; pad the map first");
        }
        return new Stripes(h, w, o.windowHeight(h, width), o.windowWidth(w, width));
    }

    /**
     * Adds the op. {@code bias} and {@code mask} may be null. With {@code inline} the body's
     * standard nodes go straight into the graph (no custom-domain node, no function; absent bias or
     * mask then cost nothing).
     */
    public static Value apply(Graph g, Value q, Value k, Value v, Value bias, Value mask, Orientation o, int width, float scale, boolean inline) {
        if (q.rank() != 5) throw new ShapeException(OP + ": q " + q + " must be [B, heads, H, W, head_dim]");
        for (Value t : new Value[]{k, v}) {
            if (!Arrays.equals(t.shape(), q.shape())) {
                throw new ShapeException(OP + ": q " + q + ", k " + k + " and v " + v + " must have the same shape");
            }
        }
        for (int a = 1; a < 5; a++) {
            if (q.dim(a) == Shapes.DYN) throw new ShapeException(OP + ": axis " + a + " of " + q + " must have a build-time size");
        }
        Stripes s = stripes(Math.toIntExact(q.dim(2)), Math.toIntExact(q.dim(3)), o, width);
        long[] scores = {q.dim(0), q.dim(1), s.stripes(), s.tokens(), s.tokens()};
        checkAdditive("bias", bias, scores);
        checkAdditive("mask", mask, scores);
        long batch = q.dim(0) == Shapes.DYN ? 1 : q.dim(0);
        long macs = 2L * batch * q.dim(1) * s.stripes() * s.tokens() * s.tokens() * q.dim(4);
        if (inline) {
            long before = g.macs();
            Value y = inlineBody(g, q, k, v, bias, mask, s, scale);
            g.addMacs(macs - (g.macs() - before));
            return y;
        }
        if (!g.hasFunction(DOMAIN, OP)) g.addFunction(function(), VERSION);
        g.addMacs(macs);
        Value[] ins = {q, k, v, bias != null ? bias : zero(g), mask != null ? mask : zero(g)};
        return g.op(OP, DOMAIN, ins, new DType[]{q.dtype()}, new long[][]{q.shape()},
                Attr.i("orientation", o.ordinal()), Attr.i("stripe_width", width), Attr.f("scale", scale))[0];
    }

    private static void checkAdditive(String what, Value t, long[] scores) {
        if (t == null) return;
        long[] got = t.shape();
        boolean ok = got.length == 5;
        for (int a = 0; ok && a < 5; a++) ok = got[a] == 1 || got[a] == scores[a] || (a == 0 && got[a] == Shapes.DYN);
        if (!ok) {
            throw new ShapeException(OP + ": " + what + " " + t + " must broadcast to [B, heads, stripes, n, n] = " + Shapes.str(scores)
                    + " (rank 5, each axis its size or 1)");
        }
    }

    private static Value zero(Graph g) {
        synchronized (ZEROS) {
            return ZEROS.computeIfAbsent(g, x -> new HashMap<>())
                    .computeIfAbsent("zero", x -> g.constant("strip_no_bias", new float[1], 1, 1, 1, 1, 1));
        }
    }

    /**
     * Benchmark baseline: the same attention as dense {@code [H·W, H·W]} scores over the whole map
     * with a static block mask (0 inside a query's stripe, -inf elsewhere). O(tokens²); not for models.
     */
    public static Value maskedFull(Graph g, Value q, Value k, Value v, Orientation o, int width, float scale) {
        Stripes s = stripes(Math.toIntExact(q.dim(2)), Math.toIntExact(q.dim(3)), o, width);
        int n = s.h() * s.w();
        float[] m = new float[n * n];
        for (int i = 0; i < n; i++) {
            int si = (i / s.w()) / s.hs() * s.nw() + (i % s.w()) / s.ws();
            for (int j = 0; j < n; j++) {
                int sj = (j / s.w()) / s.hs() * s.nw() + (j % s.w()) / s.ws();
                m[i * n + j] = si == sj ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        long heads = q.dim(1), hd = q.dim(4);
        Value mask = g.constant("strip_block_mask", m, n, n);
        Value qf = g.reshape(q, -1, heads, n, hd), kf = g.reshape(k, -1, heads, n, hd), vf = g.reshape(v, -1, heads, n, hd);
        Value sc = g.add(g.matMul(g.mul(qf, scale), g.transpose(kf, 0, 1, 3, 2)), mask);
        Value y = g.matMul(g.softmax(sc, -1), vf);
        long[] shape = q.shape();
        shape[0] = -1;
        return g.reshape(y, shape);
    }

    // ------------------------------------------------------------------ the inline body

    private static Value inlineBody(Graph g, Value q, Value k, Value v, Value bias, Value mask, Stripes s, float scale) {
        long h = q.dim(1), d = q.dim(4);
        int nh = s.nh(), nw = s.nw(), hs = s.hs(), ws = s.ws(), n = s.tokens(), st = s.stripes();
        boolean moves = hs > 1 && nw > 1;   // swapping the Hs and nW axes is a real transpose only when both exceed 1
        Value qw = g.reshape(g.mul(q, scale), -1, h, nh, hs, nw, ws, d);
        Value kw = g.reshape(k, -1, h, nh, hs, nw, ws, d);
        Value vw = g.reshape(v, -1, h, nh, hs, nw, ws, d);
        qw = g.reshape(moves ? g.transpose(qw, 0, 1, 2, 4, 3, 5, 6) : qw, -1, h, st, n, d);
        vw = g.reshape(moves ? g.transpose(vw, 0, 1, 2, 4, 3, 5, 6) : vw, -1, h, st, n, d);
        Value kt = g.reshape(g.transpose(kw, 0, 1, 2, 4, 6, 3, 5), -1, h, st, d, n);
        Value sc = g.matMul(qw, kt);
        if (bias != null) sc = g.add(sc, bias);
        if (mask != null) sc = g.add(sc, mask);
        Value o = g.matMul(g.softmax(sc, -1), vw);
        if (moves) o = g.transpose(g.reshape(o, -1, h, nh, nw, hs, ws, d), 0, 1, 2, 4, 3, 5, 6);
        return g.reshape(o, -1, h, s.h(), s.w(), d);
    }

    // ------------------------------------------------------------------ the function body

    private static final String[] FORMALS = {"Q", "K", "V", "BIAS", "MASK"};

    /**
     * The model-local function: window sizes from {@code Shape(Q)[2:4]} and the attributes
     * ({@code Hs, Ws = H, sw} or {@code sw, W}), Reshape {@code Q, K, V} to
     * {@code [B, heads, nH, Hs, nW, Ws, D]}, Transpose the window grid forward (K straight to
     * {@code [.., D, n]}), two batched MatMuls around Softmax, and back. Every shape is a function
     * of static sizes and attributes (Reshape's 0 copies the batch), so runtimes fold them.
     */
    static FunctionProto function() {
        Body b = new Body();
        String q = "Q", k = "K", v = "V";
        String o = b.node("Constant", List.of(), Attr.ref("value_int", "orientation", AttributeType.INT));
        String sw = b.node("Constant", List.of(), Attr.ref("value_int", "stripe_width", AttributeType.INT));
        String scale = b.node("Constant", List.of(), Attr.ref("value_float", "scale", AttributeType.FLOAT));
        String one = b.ints(1);
        String hw = b.node("Shape", List.of(q), Attr.i("start", 2), Attr.i("end", 4));                     // [H, W]
        String o1 = b.node("Reshape", List.of(o, one));
        String sel = b.node("Concat", List.of(b.node("Sub", List.of(one, o1)), o1), Attr.i("axis", 0));     // [1-o, o]
        String win = b.node("Add", List.of(b.node("Mul", List.of(hw, sel)),
                b.node("Mul", List.of(b.node("Reshape", List.of(sw, one)), b.node("Sub", List.of(one, sel))))));  // [Hs, Ws]
        String grid = b.node("Div", List.of(hw, win));                                                      // [nH, nW]
        String axis1 = b.ints(1);
        String pairs = b.node("Concat", List.of(b.node("Unsqueeze", List.of(grid, axis1)), b.node("Unsqueeze", List.of(win, axis1))),
                Attr.i("axis", 1));                                                                         // [[nH, Hs], [nW, Ws]]
        String keep = b.ints(0, 0), last = b.ints(-1);
        String split7 = b.node("Concat", List.of(keep, b.node("Reshape", List.of(pairs, b.ints(4))), last), Attr.i("axis", 0));
        String st = b.node("ReduceProd", List.of(grid), Attr.i("keepdims", 1));
        String n = b.node("ReduceProd", List.of(win), Attr.i("keepdims", 1));
        String toWin = b.node("Concat", List.of(keep, st, n, last), Attr.i("axis", 0));                  // [0, 0, S, n, -1]
        String toWinT = b.node("Concat", List.of(keep, st, last, n), Attr.i("axis", 0));                 // [0, 0, S, -1, n]
        String gridBack = b.node("Concat", List.of(keep, grid, win, last), Attr.i("axis", 0));           // [0, 0, nH, nW, Hs, Ws, -1]
        String back = b.node("Concat", List.of(keep, hw, last), Attr.i("axis", 0));                      // [0, 0, H, W, -1]

        String qs = b.node("Mul", List.of(q, scale));
        String qw = b.node("Reshape", List.of(b.node("Transpose", List.of(b.node("Reshape", List.of(qs, split7))), Attr.ints("perm", 0, 1, 2, 4, 3, 5, 6)), toWin));
        String kt = b.node("Reshape", List.of(b.node("Transpose", List.of(b.node("Reshape", List.of(k, split7))), Attr.ints("perm", 0, 1, 2, 4, 6, 3, 5)), toWinT));
        String vw = b.node("Reshape", List.of(b.node("Transpose", List.of(b.node("Reshape", List.of(v, split7))), Attr.ints("perm", 0, 1, 2, 4, 3, 5, 6)), toWin));
        String sc = b.node("MatMul", List.of(qw, kt));
        sc = b.node("Add", List.of(sc, b.node("Add", List.of("BIAS", "MASK"))));
        String p = b.node("Softmax", List.of(sc), Attr.i("axis", -1));
        String y = b.node("MatMul", List.of(p, vw));
        y = b.node("Transpose", List.of(b.node("Reshape", List.of(y, gridBack))), Attr.ints("perm", 0, 1, 2, 4, 3, 5, 6));
        b.nodes.add(NodeProto.newBuilder().setOpType("Reshape").addInput(y).addInput(back).addOutput("Y").build());
        return FunctionProto.newBuilder().setName(OP).setDomain(DOMAIN)
                .addAllInput(List.of(FORMALS)).addOutput("Y")
                .addAttribute("orientation").addAttribute("stripe_width").addAttribute("scale")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setDocString("Stripe-window attention (CSWin's cross-shaped-window branches): q/k/v [B, heads, H, W, D]; orientation 0 = "
                        + "H x stripe_width windows, 1 = stripe_width x W; softmax(scale*q*k^T + BIAS + MASK)*v within each stripe; "
                        + "BIAS/MASK broadcast to [B, heads, stripes, n, n]. See AttnZoo docs/custom-ops.md.")
                .addAllNode(b.nodes).build();
    }

    private static final class Body {
        final List<NodeProto> nodes = new ArrayList<>();
        int n;

        String node(String op, List<String> ins, AttributeProto... attrs) {
            String name = "t" + (n++) + "_" + op;
            nodes.add(NodeProto.newBuilder().setOpType(op).addAllInput(ins).addOutput(name).addAllAttribute(List.of(attrs)).build());
            return name;
        }

        String ints(long... v) {
            return node("Constant", List.of(), Attr.ints("value_ints", v));
        }
    }
}
