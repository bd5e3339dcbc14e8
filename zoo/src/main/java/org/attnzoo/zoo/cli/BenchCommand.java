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
            if (json) {
                spec.commandLine().getOut().println(String.format(Locale.ROOT,
                        "{\"model\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"input_shape\":%s,\"runs\":%d,\"warmup\":%d,"
                                + "\"median_ms\":%.3f,\"p90_ms\":%.3f,\"min_ms\":%.3f}",
                        model.toString().replace("\\", "\\\\").replace("\"", "\\\""), s.device(), threads, shape.replace(" ", ""),
                        runs, warmup, median, p90, ms[0]));
            } else {
                spec.commandLine().getOut().println(String.format(Locale.ROOT,
                        "%s: median %.2f ms, p90 %.2f ms, min %.2f ms over %d runs (%s, threads %s, input %s)",
                        model.getFileName(), median, p90, ms[0], runs, s.device(), threads == 0 ? "default" : threads, shape));
            }
        }
        return 0;
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
