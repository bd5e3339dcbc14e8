package org.attnzoo.zoo.cli;

import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time a model: warm-up runs, then the median and p90 latency over --runs runs.")
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL.onnx")
    Path model;

    @Option(names = "--input", paramLabel = "X.npy", description = "Input array; default: random values of the model's input shape, batch --batch.")
    Path input;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size of the random input (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--runs", defaultValue = "30", description = "Timed runs (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed runs first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", description = "Print one JSON object instead of a line of text.")
    boolean json;

    @Option(names = "--floor", description = "Also measure this machine's MatMul throughput with the same threads and report the model's FLOP floor (its MatMul/Conv FLOPs at that rate).")
    boolean floor;

    @Mixin
    DeviceOption dev;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (runs < 1) throw new IllegalArgumentException("--runs must be >= 1");
        try (OnnxSession s = OnnxSession.open(model, dev.options())) {
            NdArray x = input != null ? Npy.read(input) : randomInput(s);
            for (int i = 0; i < warmup; i++) s.run(x);
            double[] ms = new double[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                s.run(x);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(ms);
            double median = percentile(ms, 50), p90 = percentile(ms, 90);
            String shape = Arrays.toString(x.shape());
            int threads = dev.threads;
            String macsMeta = s.metadata().get("attnzoo.macs");
            double gflop = macsMeta == null ? Double.NaN : 2.0 * Long.parseLong(macsMeta) * x.shape()[0] / 1e9;
            double peak = floor ? matMulPeakGflops() : Double.NaN;
            double floorMs = gflop / peak * 1e3;
            if (json) {
                spec.commandLine().getOut().println(String.format(Locale.ROOT,
                        "{\"model\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"input_shape\":%s,\"runs\":%d,\"warmup\":%d,"
                                + "\"median_ms\":%.3f,\"p90_ms\":%.3f,\"min_ms\":%.3f%s}",
                        model.toString().replace("\\", "\\\\").replace("\"", "\\\""), s.device(), threads, shape.replace(" ", ""),
                        runs, warmup, median, p90, ms[0],
                        (Double.isNaN(gflop) ? "" : String.format(Locale.ROOT, ",\"gflop\":%.3f", gflop))
                                + (Double.isNaN(floorMs) ? "" : String.format(Locale.ROOT, ",\"matmul_peak_gflops\":%.1f,\"floor_ms\":%.3f", peak, floorMs))));
            } else {
                spec.commandLine().getOut().println(String.format(Locale.ROOT,
                        "%s: median %.2f ms, p90 %.2f ms, min %.2f ms over %d runs (%s, threads %s, input %s)%s%s",
                        model.getFileName(), median, p90, ms[0], runs, s.device(), threads == 0 ? "default" : threads, shape,
                        Double.isNaN(gflop) ? "" : String.format(Locale.ROOT, "; %.2f GFLOP", gflop),
                        Double.isNaN(floorMs) ? "" : String.format(Locale.ROOT, "; FLOP floor %.2f ms at %.0f GFLOP/s (MatMul peak)", floorMs, peak)));
            }
        }
        return 0;
    }

    /** GFLOP/s of a 1024³ float MatMul on ONNX Runtime with this command's device and threads (best of 10). */
    private double matMulPeakGflops() throws java.io.IOException {
        int n = 1024;
        org.attnzoo.sdk.graph.Graph g = new org.attnzoo.sdk.graph.Graph("matmul_peak");
        org.attnzoo.sdk.graph.Value a = g.input("a", org.attnzoo.sdk.tensor.DType.F32, n, n);
        float[] w = new float[n * n];
        Random r = new Random(1);
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        g.output(g.matMul(a, g.constant("w", w, n, n)), "y");
        Path tmp = java.nio.file.Files.createTempFile("attnzoo-peak", ".onnx");
        try {
            org.attnzoo.sdk.graph.OnnxModel.save(g, tmp);
            try (OnnxSession s = OnnxSession.open(tmp, dev.options())) {
                NdArray in = new NdArray(w.clone(), new long[]{n, n});
                double best = Double.MAX_VALUE;
                for (int i = 0; i < 13; i++) {
                    long t0 = System.nanoTime();
                    s.run(in);
                    if (i >= 3) best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                }
                return 2.0 * n * n * n / best / 1e9;
            }
        } finally {
            java.nio.file.Files.deleteIfExists(tmp);
        }
    }

    static double percentile(double[] sorted, double p) {
        double pos = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    private NdArray randomInput(OnnxSession s) {
        long[] shape = s.inputShapes().values().iterator().next().clone();
        for (int i = 0; i < shape.length; i++) if (shape[i] < 0) shape[i] = i == 0 ? batch : 1;
        long n = 1;
        for (long d : shape) n *= d;
        float[] d = new float[Math.toIntExact(n)];
        Random r = new Random(0);
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return new NdArray(d, shape);
    }
}
