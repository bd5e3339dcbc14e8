package org.attnzoo.zoo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
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

    @Option(names = "--profile", paramLabel = "TRACE.json", description = "After the timed runs, profile --profile-runs more runs in a second session: write ONNX Runtime's per-node trace to TRACE.json and print the time per op type and the slowest nodes.")
    Path profile;

    @Option(names = "--profile-runs", defaultValue = "10", description = "Runs to profile with --profile (default: ${DEFAULT-VALUE}).")
    int profileRuns;

    @Option(names = "--top", defaultValue = "12", description = "Op types and nodes listed by --profile (default: ${DEFAULT-VALUE}).")
    int top;

    @Mixin
    DeviceOption dev;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (runs < 1) throw new IllegalArgumentException("--runs must be >= 1");
        if (profile != null && profileRuns < 1) throw new IllegalArgumentException("--profile-runs must be >= 1");
        if (top < 1) throw new IllegalArgumentException("--top must be >= 1");
        java.util.Map<String, NdArray> feeds;
        NdArray x;
        double[] ms = new double[runs];
        String device, macsMeta;
        try (OnnxSession s = OnnxSession.open(model, dev.options())) {
            feeds = randomInputs(s);
            if (input != null) {
                if (feeds.size() != 1) {
                    throw new IllegalArgumentException(model + " has " + feeds.size() + " inputs " + feeds.keySet()
                            + "; --input gives one array (leave it out for random values of every input)");
                }
                NdArray given = Npy.read(input);
                feeds.replaceAll((k, v) -> given);
            }
            x = feeds.values().iterator().next();
            for (int i = 0; i < warmup; i++) s.run(feeds);
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                s.run(feeds);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            device = s.device().toString();
            macsMeta = s.metadata().get("attnzoo.macs");
        }
        Arrays.sort(ms);
        double median = percentile(ms, 50), p90 = percentile(ms, 90);
        int threads = dev.threads;
        double gflop = macsMeta == null ? Double.NaN : 2.0 * Long.parseLong(macsMeta) * x.shape()[0] / 1e9;
        double peak = floor ? matMulPeakGflops() : Double.NaN;
        double floorMs = gflop / peak * 1e3;
        // one session at a time: a second copy of a large model's weights could exhaust memory
        ProfileSummary prof = profile != null ? profile(feeds) : null;
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper om = new ObjectMapper();
            ObjectNode j = om.createObjectNode();
            j.put("model", model.toString());
            j.put("device", device);
            j.put("threads", threads);
            ArrayNode shp = j.putArray("input_shape");
            for (long d : x.shape()) shp.add(d);
            j.put("runs", runs);
            j.put("warmup", warmup);
            j.put("median_ms", round3(median));
            j.put("p90_ms", round3(p90));
            j.put("min_ms", round3(ms[0]));
            j.put("images_per_s", round3(x.shape()[0] * 1000.0 / median));
            if (!Double.isNaN(gflop)) j.put("gflop", round3(gflop));
            if (!Double.isNaN(floorMs)) {
                j.put("matmul_peak_gflops", Math.round(peak * 10) / 10.0);
                j.put("floor_ms", round3(floorMs));
            }
            if (prof != null) {
                ObjectNode pj = j.putObject("profile");
                pj.put("trace", profile.toString());
                pj.put("profiled_runs", prof.runs());
                pj.put("kernel_ms_per_run", round3(prof.totalMs()));
                ArrayNode ops = pj.putArray("by_op_type");
                for (ProfileSummary.Entry e : prof.byOpType()) {
                    ops.addObject().put("op_type", e.name()).put("ms_per_run", round3(e.msPerRun())).put("calls_per_run", e.callsPerRun());
                }
                ArrayNode nodes = pj.putArray("slowest_nodes");
                for (ProfileSummary.Entry e : prof.byNode().subList(0, Math.min(top, prof.byNode().size()))) {
                    nodes.addObject().put("node", e.name()).put("op_type", e.opType()).put("ms_per_run", round3(e.msPerRun()));
                }
            }
            out.println(om.writeValueAsString(j));
        } else {
            out.println(String.format(Locale.ROOT,
                    "%s: median %.2f ms, p90 %.2f ms, min %.2f ms over %d runs, %.1f images/s (%s, threads %s, input %s)%s%s",
                    model.getFileName(), median, p90, ms[0], runs, x.shape()[0] * 1000.0 / median, device, threads == 0 ? "default" : threads, Arrays.toString(x.shape()),
                    Double.isNaN(gflop) ? "" : String.format(Locale.ROOT, "; %.2f GFLOP", gflop),
                    Double.isNaN(floorMs) ? "" : String.format(Locale.ROOT, "; FLOP floor %.2f ms at %.0f GFLOP/s (MatMul peak)", floorMs, peak)));
            if (prof != null) {
                prof.print(out, top);
                out.println("trace: " + profile);
            }
        }
        out.flush();
        return 0;
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /**
     * Profiles {@link #profileRuns} runs (after one warm-up run, which the summary leaves out) in a
     * session of their own, so the timed runs above carry no profiling cost.
     */
    private ProfileSummary profile(java.util.Map<String, NdArray> x) throws java.io.IOException {
        Path dir = profile.toAbsolutePath().getParent();
        java.nio.file.Files.createDirectories(dir);
        Path prefix = dir.resolve(".attnzoo-profile-" + ProcessHandle.current().pid());
        Path trace;
        try (OnnxSession s = OnnxSession.open(model, dev.options().withProfiling(prefix))) {
            for (int i = 0; i < profileRuns + 1; i++) s.run(x);
            trace = s.endProfiling();
        }
        try {
            ProfileSummary sum = ProfileSummary.read(trace);         // leaves the first (warm-up) run out
            java.nio.file.Files.move(trace, profile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return sum;
        } finally {
            java.nio.file.Files.deleteIfExists(trace);
        }
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

    /** Random normal values for every input of the model (symbolic sizes: --batch first, then 1). */
    private java.util.Map<String, NdArray> randomInputs(OnnxSession s) {
        java.util.Map<String, NdArray> feeds = new java.util.LinkedHashMap<>();
        Random r = new Random(0);
        for (var e : s.inputShapes().entrySet()) {
            long[] shape = e.getValue().clone();
            for (int i = 0; i < shape.length; i++) if (shape[i] < 0) shape[i] = i == 0 ? batch : 1;
            long n = 1;
            for (long d : shape) n *= d;
            float[] d = new float[Math.toIntExact(n)];
            for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
            feeds.put(e.getKey(), new NdArray(d, shape));
        }
        return feeds;
    }
}
