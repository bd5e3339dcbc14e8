package org.attnzoo.zoo.bench;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.ops.StripeAttention;
import org.attnzoo.sdk.ops.StripeAttention.Orientation;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.sdk.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Latency of one StripeAttention2D (function body on stock ONNX Runtime, and the inlined form) vs
 * dense attention over the whole map with a static block mask (0 inside the query's stripe, -inf
 * elsewhere), batch 1, head_dim 32, heads as one CSWin-T branch per level (56×56: 1, 14×14: 4), both
 * stripe orientations, on ONNX Runtime with 2 intra-op threads. Not a test: run its main.
 * Args: [threads] [iterations].
 */
public final class StripeAttentionBench {
    /** Report the fastest run instead of the median (for a loaded machine, where the median measures the neighbours). */
    static final boolean MIN = Boolean.getBoolean("bench.min");

    private StripeAttentionBench() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int iters = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Path dir = Files.createTempDirectory("strip-bench");
        System.out.printf("StripeAttention2D, batch 1, head_dim 32, ORT %d threads, %s of %d runs (ms)%n", threads, MIN ? "fastest" : "median", iters);
        System.out.printf("%-8s %-6s %-11s %-3s %10s %10s %12s %8s%n", "tokens", "heads", "orientation", "sw", "function", "inline", "masked-full",
                "speedup");
        int[][] levels = {{56, 1, 1}, {56, 1, 2}, {56, 1, 7}, {14, 4, 1}, {14, 4, 2}, {14, 4, 7}};
        for (int[] lv : levels) {
            for (Orientation o : Orientation.values()) {
                double f = time(dir, lv[0], lv[1], o, lv[2], "function", threads, iters);
                double in = time(dir, lv[0], lv[1], o, lv[2], "inline", threads, iters);
                double full = time(dir, lv[0], lv[1], o, lv[2], "full", threads, iters);
                System.out.printf("%-8s %-6d %-11s %-3d %10.3f %10.3f %12.3f %7.1fx%n", lv[0] + "x" + lv[0], lv[1], o.name().toLowerCase(), lv[2],
                        f, in, full, full / f);
            }
        }
    }

    static double time(Path dir, int side, int heads, Orientation o, int width, String form, int threads, int iters) throws Exception {
        int hd = 32;
        Graph g = new Graph("bench");
        long[] shape = {1, heads, side, side, hd};
        Value q = g.input("q", DType.F32, shape), k = g.input("k", DType.F32, shape), v = g.input("v", DType.F32, shape);
        float scale = (float) Math.pow(hd, -0.5);
        Value y = form.equals("full")
                ? StripeAttention.maskedFull(g, q, k, v, o, width, scale)
                : StripeAttention.apply(g, q, k, v, null, null, o, width, scale, form.equals("inline"));
        g.output(y, "y");
        Path file = dir.resolve(form + side + "_" + o + width + ".onnx");
        OnnxModel.save(g, file);
        Random r = new Random(1);
        int n = heads * side * side * hd;
        Map<String, NdArray> feeds = new LinkedHashMap<>();
        for (String name : new String[]{"q", "k", "v"}) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
            feeds.put(name, new NdArray(x, shape));
        }
        try (OnnxSession s = OnnxSession.open(file, RuntimeOptions.defaults().withThreads(threads).withSpinning(false))) {
            for (int i = 0; i < 3; i++) s.run(feeds);
            double[] t = new double[iters];
            for (int i = 0; i < iters; i++) {
                long t0 = System.nanoTime();
                s.run(feeds);
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(t);
            return MIN ? t[0] : t[iters / 2];
        }
    }
}
