package org.attnzoo.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * Classifies every image under a folder (any Hadoop path: a local directory, {@code hdfs://},
 * {@code s3a://}) and writes one Parquet row per image: its path, top-k labels and scores, and
 * the error for an image that could not be read.
 *
 * <pre>
 * ClassifyFolder IMAGES OUT.parquet [--model NAME | --model-path FILE.onnx] [--top-k K]
 *                [--batch-size B] [--device cpu|cuda|auto] [--glob '*.png'] [--read-bytes] [--overwrite]
 * </pre>
 *
 * The files are listed by {@link ImageFiles#paths} and read by the Transformer's tasks; with
 * {@code --read-bytes} Spark's {@code binaryFile} source reads them instead (slower for small
 * images: see docs/spark.md).
 *
 * Under {@code spark-submit} the master comes from its {@code --master}; run directly, it is
 * {@code local[2]} unless {@code -Dspark.master=...} says otherwise.
 */
public final class ClassifyFolder {
    private ClassifyFolder() {
    }

    public static void main(String[] args) {
        List<String> pos = new ArrayList<>();
        ZooImageClassifier zic = new ZooImageClassifier().setModel("convit_digits").setKeepInput(false);
        String glob = null;
        boolean overwrite = false, readBytes = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--model" -> zic.setModel(value(args, ++i, a));
                case "--model-path" -> zic.setModelPath(value(args, ++i, a));
                case "--top-k" -> zic.setTopK(Integer.parseInt(value(args, ++i, a)));
                case "--batch-size" -> zic.setBatchSize(Integer.parseInt(value(args, ++i, a)));
                case "--device" -> zic.setDevice(value(args, ++i, a));
                case "--glob" -> glob = value(args, ++i, a);
                case "--overwrite" -> overwrite = true;
                case "--read-bytes" -> readBytes = true;
                case "-h", "--help" -> {
                    usage();
                    return;
                }
                default -> {
                    if (a.startsWith("--")) {
                        System.err.println("unknown option " + a);
                        usage();
                        System.exit(2);
                    }
                    pos.add(a);
                }
            }
        }
        if (pos.size() != 2) {
            usage();
            System.exit(2);
        }
        SparkSession.Builder b = SparkSession.builder().appName("AttnZoo ClassifyFolder");
        if (System.getProperty("spark.master") == null) b.master("local[2]");
        SparkSession spark = b.getOrCreate();
        try {
            long t0 = System.nanoTime();
            Dataset<Row> images;
            if (readBytes) {
                var reader = spark.read().format("binaryFile").option("recursiveFileLookup", "true");
                if (glob != null) reader = reader.option("pathGlobFilter", glob);
                images = reader.load(pos.get(0)).select("path", "content");
                zic.setInputCol("content").setKeepInput(false);
            } else {
                images = ImageFiles.paths(spark, pos.get(0), glob);
                zic.setInputCol("path").setKeepInput(true);
            }
            Dataset<Row> out = zic.transform(images).select(col("path"), col(zic.getLabelsCol()), col(zic.getScoresCol()), col(zic.getErrorCol()));
            out.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).parquet(pos.get(1));
            double s = (System.nanoTime() - t0) / 1e9;

            Dataset<Row> written = spark.read().parquet(pos.get(1));
            long n = written.count();
            long bad = written.filter(col(zic.getErrorCol()).isNotNull()).count();
            System.out.printf(Locale.ROOT, "classified %d images (%d not readable) with %s in %.1f s; wrote %s%n",
                    n, bad, zic.getModel().isEmpty() ? zic.getModelPath() : zic.getModel(), s, pos.get(1));
            written.orderBy("path").show(20, false);
        } finally {
            spark.stop();
        }
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) throw new IllegalArgumentException(opt + " needs a value");
        return args[i];
    }

    private static void usage() {
        System.err.println("usage: ClassifyFolder IMAGES OUT.parquet [--model NAME | --model-path FILE.onnx] [--top-k K] "
                + "[--batch-size B] [--device cpu|cuda|auto] [--glob '*.png'] [--read-bytes] [--overwrite]");
    }
}
