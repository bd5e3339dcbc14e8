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
import java.util.List;

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
 * its full size or 1); when a caller has none the builder passes a {@code [1,1,1,1,1]} zero (a
 * reshape of the graph's shared scalar 0). Attributes: {@code orientation} (int: 0 vertical, 1 horizontal — CSWin's {@code idx}),
 * {@code stripe_width} (int), {@code scale} (float).
 */
public final class StripeAttention {
    public static final String DOMAIN = "org.attnzoo.strip";
    public static final int VERSION = 1;
    public static final String OP = "StripeAttention2D";
    private static final int OPSET = 17;

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
        Value zero = bias == null || mask == null ? g.reshape(g.scalar(0f), 1, 1, 1, 1, 1) : null;
        Value[] ins = {q, k, v, bias != null ? bias : zero, mask != null ? mask : zero};
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
        int hs = s.hs(), ws = s.ws(), n = s.tokens(), st = s.stripes();
        // only vertical stripes narrower than the map need a transpose (one axis moved, rank 4); horizontal
        // stripes and full-map windows are contiguous already
        boolean moves = hs > 1 && s.nw() > 1;
        Value[] w = new Value[3];
        Value[] in = {g.mul(q, scale), k, v};
        for (int i = 0; i < 3; i++) {
            Value x = in[i];
            if (moves) x = g.transpose(g.reshape(x, -1, hs, s.nw(), (long) ws * d), 0, 2, 1, 3);        // [B·heads, nW, H, sw·D]
            w[i] = g.reshape(x, -1, h, st, n, d);
        }
        Value sc = g.matMul(w[0], g.transpose(w[1], 0, 1, 2, 4, 3));
        if (bias != null) sc = g.add(sc, bias);
        if (mask != null) sc = g.add(sc, mask);
        Value o = g.matMul(g.softmax(sc, -1), w[2]);
        if (moves) o = g.transpose(g.reshape(o, -1, s.nw(), hs, (long) ws * d), 0, 2, 1, 3);
        return g.reshape(o, -1, h, s.h(), s.w(), d);
    }

    // ------------------------------------------------------------------ the function body

    private static final String[] FORMALS = {"Q", "K", "V", "BIAS", "MASK"};

    /**
     * The model-local function. Every reshape target is a function of the attributes alone (so a
     * runtime folds them to constants, whatever the batch): Q, K, V are unsqueezed to
     * {@code [B, heads, H, 1, 1, W, D]} and viewed as {@code [B, heads, H, nW, 1, sw, D]} (vertical)
     * or {@code [B, heads, 1, nH, sw, W, D]} (horizontal), using Reshape's 0 to copy sizes and one -1;
     * one Transpose swapping axes 2 and 3 (a single axis moved; for horizontal stripes it only moves
     * an axis of size 1) gives {@code [B, heads, S, a, b, c, D]}, viewed as
     * {@code [B, heads, S, 1, 1, n, D]}; batched MatMul with Kᵀ, Add of {@code BIAS + MASK}
     * (unsqueezed to rank 7), Softmax, MatMul with V, and the inverse view/transpose; the last
     * Reshape takes {@code Shape(Q)}.
     */
    static FunctionProto function() {
        Body b = new Body();
        String o = b.node("Constant", List.of(), Attr.ref("value_int", "orientation", AttributeType.INT));
        String sw = b.node("Constant", List.of(), Attr.ref("value_int", "stripe_width", AttributeType.INT));
        String scale = b.node("Constant", List.of(), Attr.ref("value_float", "scale", AttributeType.FLOAT));
        // select(v, h) = v·(1-o) + h·o, per element; v and h = base + sw·unit
        String ho = b.node("Reshape", List.of(o, b.ints(1)));
        String vo = b.node("Sub", List.of(b.ints(1), ho));
        String sw1 = b.node("Reshape", List.of(sw, b.ints(1)));
        String tin = select(b, vo, ho, sw1, new long[]{0, 0, 0, -1, 1, 0, 0}, new long[]{0, 0, 0, 0, 0, 1, 0},
                new long[]{0, 0, 1, -1, 0, 0, 0}, new long[]{0, 0, 0, 0, 1, 0, 0});                      // [B,h,H,nW,1,sw,D] | [B,h,1,nH,sw,W,D]
        String tback = select(b, vo, ho, sw1, new long[]{0, 0, 0, -1, 1, 0, 0}, new long[]{0, 0, 0, 0, 0, 1, 0},
                new long[]{0, 0, 0, 1, 0, -1, 0}, new long[]{0, 0, 0, 0, 1, 0, 0});                      // [B,h,S,H,1,sw,D] | [B,h,S,1,sw,W,D]
        String twin = b.ints(0, 0, 0, 1, 1, -1, 0);                                                      // [B,h,S,1,1,n,D]
        String axes34 = b.ints(3, 4);
        String[] w = new String[3];
        String[] in = {b.node("Mul", List.of("Q", scale)), "K", "V"};
        for (int i = 0; i < 3; i++) {
            String x = b.node("Reshape", List.of(b.node("Unsqueeze", List.of(in[i], axes34)), tin));
            x = b.node("Transpose", List.of(x), Attr.ints("perm", 0, 1, 3, 2, 4, 5, 6));
            w[i] = b.node("Reshape", List.of(x, twin));
        }
        String kt = b.node("Transpose", List.of(w[1]), Attr.ints("perm", 0, 1, 2, 3, 4, 6, 5));
        String sc = b.node("MatMul", List.of(w[0], kt));
        String add = b.node("Unsqueeze", List.of(b.node("Add", List.of("BIAS", "MASK")), axes34));
        sc = b.node("Add", List.of(sc, add));
        String p = b.node("Softmax", List.of(sc), Attr.i("axis", -1));
        String y = b.node("MatMul", List.of(p, w[2]));
        y = b.node("Transpose", List.of(b.node("Reshape", List.of(y, tback))), Attr.ints("perm", 0, 1, 3, 2, 4, 5, 6));
        b.nodes.add(NodeProto.newBuilder().setOpType("Reshape").addInput(y).addInput(b.node("Shape", List.of("Q"))).addOutput("Y").build());
        return FunctionProto.newBuilder().setName(OP).setDomain(DOMAIN)
                .addAllInput(List.of(FORMALS)).addOutput("Y")
                .addAttribute("orientation").addAttribute("stripe_width").addAttribute("scale")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setDocString("Stripe-window attention (CSWin's cross-shaped-window branches): q/k/v [B, heads, H, W, D]; orientation 0 = "
                        + "H x stripe_width windows, 1 = stripe_width x W; softmax(scale*q*k^T + BIAS + MASK)*v within each stripe; "
                        + "BIAS/MASK broadcast to [B, heads, stripes, n, n]. See AttnZoo docs/custom-ops.md.")
                .addAllNode(b.nodes).build();
    }

    /** {@code (vBase + sw·vUnit)·vo + (hBase + sw·hUnit)·ho} as int64 nodes (constants only: foldable). */
    private static String select(Body b, String vo, String ho, String sw, long[] vBase, long[] vUnit, long[] hBase, long[] hUnit) {
        String v = b.node("Add", List.of(b.ints(vBase), b.node("Mul", List.of(sw, b.ints(vUnit)))));
        String h = b.node("Add", List.of(b.ints(hBase), b.node("Mul", List.of(sw, b.ints(hUnit)))));
        return b.node("Add", List.of(b.node("Mul", List.of(v, vo)), b.node("Mul", List.of(h, ho))));
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
