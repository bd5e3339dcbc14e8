package org.attnzoo.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.ImageClassifier;
import org.attnzoo.zoo.hub.ModelHub;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Images per second of the Transformer on {@code local[T]} against a plain Java loop of T threads
 * over one {@link ImageClassifier}, on the same image files, same batch size and same top-k;
 * rounds interleaved, medians reported. A benchmark, not a test.
 *
 * <pre>
 * ATTNZOO_SPARK_MAIN=org.attnzoo.spark.SparkBench bin/attnzoo-spark [--model convit_digits]
 *     [--onnx RANDOM.onnx] [--images N] [--size WxH] [--threads 2] [--batch 16] [--rounds 3]
 *     [--open-cost BYTES] [--conf spark.k=v]... [--only loop|spark]
 * </pre>
 *
 * {@code --onnx} takes a model made by {@code attnzoo convert NAME --random-weights SEED -o FILE}
 * and files it in a private zoo cache as NAME's converted model, so both sides run it by name
 * without downloading weights. Without {@code --size}, images are the sample digits; with it,
 * synthetic JPEGs of that size.
 */
public final class SparkBench {
    private SparkBench() {
    }

    public static void main(String[] args) throws Exception {
        String model = "convit_digits";
        Path onnx = null;
        int n = 2000, threads = 2, batch = 16, rounds = 3, topK = 5;
        int[] size = null;
        String openCost = null, only = null, source = "binary";
        List<String[]> confs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--onnx" -> onnx = Path.of(args[++i]);
                case "--images" -> n = Integer.parseInt(args[++i]);
                case "--size" -> size = Arrays.stream(args[++i].split("x")).mapToInt(Integer::parseInt).toArray();
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--open-cost" -> openCost = args[++i];
                case "--conf" -> confs.add(args[++i].split("=", 2));   // any Spark setting, k=v
                case "--only" -> only = args[++i];   // loop or spark: one side only (for profiling)
                // binary: spark.read.format("binaryFile") (the bytes come through Spark's file source);
                // paths: a Dataset of the file paths, listed by the driver as the loop's list is, read by the Transformer
                // listed: ImageFiles.paths (Spark lists the folder, the Transformer reads the files)
                case "--source" -> source = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path work = Files.createTempDirectory("attnzoo-sparkbench");
        Path cache = Files.createDirectories(work.resolve("cache"));
        Path images = Files.createDirectories(work.resolve("images"));
        List<Path> files = writeImages(images, n, size);
        ModelHub hub = ModelHub.builder().cacheRoot(cache).build();
        if (onnx != null) {
            // the random-weights model as the converted model of `model`, as AttnZoo.onnx would look it up
            var rm = hub.resolve(model);
            hub.cache().putConverted(AttnZoo.convertedKey(rm.tag(), org.attnzoo.zoo.arch.Architectures.get(rm.name())), onnx);
        }
        System.out.printf(Locale.ROOT, "model %s%s, %d images%s, %d threads, batch %d, top-%d%n", model,
                onnx == null ? "" : " (weights of " + onnx.getFileName() + ")", n,
                size == null ? " (sample digits)" : " (" + size[0] + "x" + size[1] + " JPEG)", threads, batch, topK);

        SparkSession.Builder sb = SparkSession.builder().appName("AttnZoo SparkBench").master("local[" + threads + "]")
                .config("spark.ui.enabled", "false");
        if (openCost != null) sb.config("spark.sql.files.openCostInBytes", openCost);
        for (String[] kv : confs) sb.config(kv[0], kv[1]);
        SparkSession spark = sb.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        ZooImageClassifier zic = new ZooImageClassifier().setModel(model).setCacheDir(cache.toString())
                .setTopK(topK).setBatchSize(batch).setKeepInput(false);

        try (AttnZoo zoo = AttnZoo.of(hub); ImageClassifier c = zoo.classifier(model, Device.cpu())) {
            final int t = threads, b = batch;
            // warm-up: sessions open, JIT compiled, files in the page cache
            final String src = source;
            double w1 = loop(c, files, t, b, topK), w2 = spark(spark, zic, images, files, src);
            double io = readOnly(spark, images);
            System.out.printf(Locale.ROOT, "Spark alone (binaryFile read to the noop sink, no model): %.1f img/s%n", n / io);
            System.out.printf(Locale.ROOT, "warm-up: loop %.1f img/s, spark %.1f img/s (%d partitions)%n",
                    n / w1, n / w2, spark.read().format("binaryFile").load(images.toString()).rdd().getNumPartitions());
            double[] l = new double[rounds], s = new double[rounds], lc = new double[rounds], sc = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long c0 = cpuNanos();
                l[r] = "spark".equals(only) ? Double.NaN : n / loop(c, files, t, b, topK);
                long c1 = cpuNanos();
                s[r] = "loop".equals(only) ? Double.NaN : n / spark(spark, zic, images, files, src);
                long c2 = cpuNanos();
                lc[r] = (c1 - c0) / 1e6 / n;
                sc[r] = (c2 - c1) / 1e6 / n;
                System.out.printf(Locale.ROOT, "round %d: loop %.1f img/s (%.3f cpu-ms/img), spark %.1f img/s (%.3f cpu-ms/img), ratio %.3f%n",
                        r + 1, l[r], lc[r], s[r], sc[r], s[r] / l[r]);
            }
            double ml = median(l), ms = median(s), mlc = median(lc), msc = median(sc);
            System.out.printf(Locale.ROOT, "median: loop %.1f img/s, spark %.1f img/s, spark/loop %.3f; "
                    + "process CPU per image: loop %.3f ms, spark %.3f ms, loop/spark %.3f%n", ml, ms, ms / ml, mlc, msc, mlc / msc);
        } finally {
            spark.stop();
        }
    }

    /** Seconds for T threads to classify every file, each taking the next batch of B files. */
    static double loop(ImageClassifier c, List<Path> files, int threads, int batch, int k) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long t0 = System.nanoTime();
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                fs.add(pool.submit(() -> {
                    int from;
                    while ((from = next.getAndAdd(batch)) < files.size()) {
                        c.classify(files.subList(from, Math.min(files.size(), from + batch)), k);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        } finally {
            pool.shutdown();
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds for the Transformer to classify the folder, output written to Spark's no-op sink. */
    static double spark(SparkSession spark, ZooImageClassifier zic, Path images, List<Path> files, String source) {
        long t0 = System.nanoTime();
        Dataset<Row> in = switch (source) {
            case "binary" -> spark.read().format("binaryFile").load(images.toString()).select("path", "content");
            case "paths" -> spark.createDataset(files.stream().map(Path::toString).toList(), org.apache.spark.sql.Encoders.STRING()).toDF("path");
            case "listed" -> ImageFiles.paths(spark, images.toString(), null);
            default -> throw new IllegalArgumentException("--source binary|paths|listed, not " + source);
        };
        zic.setInputCol("binary".equals(source) ? "content" : "path");
        zic.transform(in).write().format("noop").mode("overwrite").save();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds for Spark to read the folder's bytes with binaryFile into the no-op sink: its own cost, no model. */
    static double readOnly(SparkSession spark, Path images) {
        long t0 = System.nanoTime();
        spark.read().format("binaryFile").load(images.toString()).select("path", "content").write().format("noop").mode("overwrite").save();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** CPU time of the whole process (all threads, native ONNX Runtime threads included). */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static List<Path> writeImages(Path dir, int n, int[] size) throws IOException {
        List<Path> out = new ArrayList<>();
        Random rnd = new Random(7);
        List<byte[]> digits = new ArrayList<>();
        if (size == null) {
            Path samples = Path.of(System.getProperty("attnzoo.samples", "samples/images"));
            for (int d = 0; d < 10; d++) digits.add(Files.readAllBytes(samples.resolve("digit_" + d + ".png")));
        }
        for (int i = 0; i < n; i++) {
            Path p;
            if (size == null) {
                p = dir.resolve(String.format(Locale.ROOT, "img_%06d.png", i));
                Files.write(p, digits.get(i % 10));
            } else {
                p = dir.resolve(String.format(Locale.ROOT, "img_%06d.jpg", i));
                ImageIO.write(synthetic(size[0], size[1], rnd), "jpg", p.toFile());
            }
            out.add(p);
        }
        return out;
    }

    /** Smooth colour gradients with noise: decodes like a photo of that size (not a flat JPEG). */
    static BufferedImage synthetic(int w, int h, Random rnd) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        double a = rnd.nextDouble() * 6, bb = rnd.nextDouble() * 6, c = rnd.nextDouble() * 6;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = clamp(128 + 100 * Math.sin(a + x * 0.03) + rnd.nextGaussian() * 12);
                int g = clamp(128 + 100 * Math.sin(bb + y * 0.025) + rnd.nextGaussian() * 12);
                int bl = clamp(128 + 100 * Math.sin(c + (x + y) * 0.02) + rnd.nextGaussian() * 12);
                img.setRGB(x, y, (r << 16) | (g << 8) | bl);
            }
        }
        return img;
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }
}
