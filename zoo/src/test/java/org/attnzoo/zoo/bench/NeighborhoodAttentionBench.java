package org.attnzoo.zoo.bench;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.ops.NeighborhoodAttention;
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
 * Latency of one NeighborhoodAttention2D (function body on stock ONNX Runtime, and the inlined
 * form) vs the masked-full-attention baseline, batch 1, NAT-mini-like heads (head_dim 32), k = 7
 * with rpb, on ONNX Runtime with 2 intra-op threads. Not a test: run its main.
 * Args: [threads] [iterations].
 */
public final class NeighborhoodAttentionBench {
    private NeighborhoodAttentionBench() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int iters = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        Path dir = Files.createTempDirectory("na-bench");
        System.out.printf("NA2D k=7 +rpb, batch 1, head_dim 32, ORT %d threads, median of %d runs (ms)%n", threads, iters);
        System.out.printf("%-8s %-6s %-3s %10s %10s %12s%n", "tokens", "heads", "d", "function", "inline", "masked-full");
        int[][] levels = {{56, 2}, {28, 4}, {14, 8}};
        for (int[] lv : levels) {
            for (int d : new int[]{1, 2, 4}) {
                if (7 * d > lv[0]) continue;
                double f = time(dir, lv[0], lv[1], d, "function", threads, iters);
                double in = time(dir, lv[0], lv[1], d, "inline", threads, iters);
                double full = time(dir, lv[0], lv[1], d, "full", threads, iters);
                System.out.printf("%-8s %-6d %-3d %10.2f %10.2f %12.2f%n", lv[0] + "x" + lv[0], lv[1], d, f, in, full);
            }
        }
    }

    static double time(Path dir, int side, int heads, int dil, String form, int threads, int iters) throws Exception {
        int hd = 32;
        Graph g = new Graph("bench");
        long[] shape = {1, heads, side, side, hd};
        Value q = g.input("q", DType.F32, shape), k = g.input("k", DType.F32, shape), v = g.input("v", DType.F32, shape);
        Random r = new Random(1);
        float[] rpbData = new float[heads * 13 * 13];
        for (int i = 0; i < rpbData.length; i++) rpbData[i] = (float) r.nextGaussian();
        Value rpb = g.constant("rpb", rpbData, heads, 13, 13);
        int[] kk = {7, 7}, dd = {dil, dil};
        float scale = (float) Math.pow(hd, -0.5);
        Value y = form.equals("full")
                ? NeighborhoodAttention.maskedFull(g, q, k, v, rpb, kk, dd, null, scale)
                : NeighborhoodAttention.op2d(g, q, k, v, rpb, kk, dd, null, scale, form.equals("inline"));
        g.output(y, "y");
        Path file = dir.resolve(form + side + "_" + dil + ".onnx");
        OnnxModel.save(g, file);
        int n = heads * side * side * hd;
        Map<String, NdArray> feeds = new LinkedHashMap<>();
        for (String name : new String[]{"q", "k", "v"}) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
            feeds.put(name, new NdArray(x, shape));
        }
        try (OnnxSession s = OnnxSession.open(file, RuntimeOptions.defaults().withThreads(threads))) {
            for (int i = 0; i < 3; i++) s.run(feeds);
            double[] t = new double[iters];
            for (int i = 0; i < iters; i++) {
                long t0 = System.nanoTime();
                s.run(feeds);
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(t);
            return t[iters / 2];
        }
    }
}
