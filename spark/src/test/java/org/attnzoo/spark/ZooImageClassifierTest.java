package org.attnzoo.spark;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.TaskContext;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.ImageClassifier;
import org.attnzoo.zoo.Prediction;
import org.attnzoo.zoo.hub.ModelHub;
import org.attnzoo.zoo.hub.UnknownModelException;
import org.attnzoo.zoo.image.ImagePreprocessor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The Transformer on Spark in local mode (two task threads; a failed task is retried once), with
 * model files shipped through {@code SparkContext.addFile} as on a cluster. The reference is
 * {@link ImageClassifier} on the same images.
 */
class ZooImageClassifierTest {
    static final String MODEL = "convit_digits";
    static final int K = 3;

    @TempDir
    static Path tmp;

    static SparkSession spark;
    static Path cache;
    static Path images;
    static List<Path> good = new ArrayList<>();
    /** Reference top-k and logits by absolute file path. */
    static Map<String, List<Prediction>> refTop = new HashMap<>();
    static Map<String, float[]> refLogits = new HashMap<>();

    @BeforeAll
    static void setUp() throws IOException {
        cache = Files.createDirectories(tmp.resolve("zoo-cache"));
        images = Files.createDirectories(tmp.resolve("images"));
        writeImages();
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(cache).offline(true).build());
             ImageClassifier c = zoo.classifier(MODEL, Device.cpu())) {
            ImagePreprocessor pre = new ImagePreprocessor(AttnZoo.preprocessing(c.card()));
            List<List<Prediction>> top = c.classify(good, K);
            for (int i = 0; i < good.size(); i++) {
                String key = good.get(i).toAbsolutePath().toString();
                refTop.put(key, top.get(i));
                refLogits.put(key, c.logits(pre.load(good.get(i))).data());
            }
        }
        spark = SparkSession.builder()
                .master("local[2,2]")                       // 2 task threads; a failed task gets one retry
                .appName("ZooImageClassifierTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "3")
                .config(DriverModels.SHIP_CONF, "always")   // ship the model as on a cluster
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
    }

    /** The 10 sample digits plus resized, grey, non-square and JPEG variants: 30 images of several sizes and formats. */
    static void writeImages() throws IOException {
        Path samples = Path.of("../samples/images");
        for (int d = 0; d < 10; d++) {
            Path src = samples.resolve("digit_" + d + ".png");
            Path copy = images.resolve("digit_" + d + ".png");
            Files.copy(src, copy);
            good.add(copy);
            BufferedImage img = ImageIO.read(src.toFile());
            Path wide = images.resolve("wide_" + d + ".png");
            ImageIO.write(scaled(img, 48 + d, 40, BufferedImage.TYPE_INT_RGB), "png", wide.toFile());
            good.add(wide);
            Path grey = images.resolve("grey_" + d + (d % 2 == 0 ? ".jpg" : ".png"));
            ImageIO.write(scaled(img, 24, 30 + d, BufferedImage.TYPE_BYTE_GRAY), d % 2 == 0 ? "jpg" : "png", grey.toFile());
            good.add(grey);
        }
    }

    static BufferedImage scaled(BufferedImage src, int w, int h, int type) {
        BufferedImage out = new BufferedImage(w, h, type);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, w, h, null);
        g.dispose();
        return out;
    }

    static ZooImageClassifier classifier() {
        return new ZooImageClassifier().setModel(MODEL).setCacheDir(cache.toString()).setTopK(K)
                .setIndicesCol("indices").setLogitsCol("logits");
    }

    static Dataset<Row> binaryFiles(Path dir, int partitions) {
        return spark.read().format("binaryFile").load(dir.toString()).repartition(partitions);
    }

    static String localPath(Row r) {
        return Path.of(java.net.URI.create(r.<String>getAs("path"))).toString();
    }

    static void assertMatchesReference(Row r) {
        String key = localPath(r);
        List<Prediction> want = refTop.get(key);
        assertThat(want).as("reference for %s", key).isNotNull();
        assertThat(r.<String>getAs("error")).as(key).isNull();
        List<String> labels = r.getList(r.fieldIndex("labels"));
        List<Float> scores = r.getList(r.fieldIndex("scores"));
        List<Integer> indices = r.getList(r.fieldIndex("indices"));
        List<Float> logits = r.getList(r.fieldIndex("logits"));
        assertThat(labels).as(key).containsExactlyElementsOf(want.stream().map(Prediction::label).toList());
        assertThat(indices).as(key).containsExactlyElementsOf(want.stream().map(Prediction::index).toList());
        for (int t = 0; t < K; t++) assertThat(scores.get(t)).as(key).isCloseTo(want.get(t).probability(), within(1e-6f));
        float[] z = refLogits.get(key);
        assertThat(logits).hasSize(z.length);
        for (int c = 0; c < z.length; c++) assertThat(logits.get(c)).as("%s logit %d", key, c).isCloseTo(z[c], within(1e-5f));
    }

    @Test
    void predictionsEqualImageClassifierAcrossPartitionsAndBatchSizes() {
        assertThat(good).hasSize(30);
        for (int[] pb : new int[][]{{3, 4}, {4, 7}, {1, 16}, {2, 64}}) {
            List<Row> out = classifier().setBatchSize(pb[1]).transform(binaryFiles(images, pb[0])).collectAsList();
            assertThat(out).as("partitions %d, batch %d", pb[0], pb[1]).hasSize(good.size());
            out.forEach(ZooImageClassifierTest::assertMatchesReference);
        }
        // the first result is the model's argmax: the shipped digits are recognised
        for (int d = 0; d < 10; d++) {
            assertThat(refTop.get(images.resolve("digit_" + d + ".png").toAbsolutePath().toString()).get(0).label())
                    .isEqualTo(Integer.toString(d));
        }
    }

    @Test
    void pathColumnGivesTheSamePredictions() {
        List<Row> rows = good.stream().map(p -> RowFactory.create(p.toAbsolutePath().toUri().toString())).toList();
        StructType schema = new StructType().add("path", DataTypes.StringType);
        Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(2);
        List<Row> out = classifier().setInputCol("path").setBatchSize(5).transform(df).collectAsList();
        assertThat(out).hasSize(good.size());
        out.forEach(ZooImageClassifierTest::assertMatchesReference);
    }

    @Test
    void listedImageFilesGiveTheSamePredictions() throws IOException {
        // a nested copy of the folder, plus a file the glob leaves out
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Path sub = Files.createDirectories(tree.resolve("sub"));
        List<Path> pngs = new ArrayList<>();
        for (int i = 0; i < good.size(); i++) {
            Path src = good.get(i);
            if (!src.getFileName().toString().endsWith(".png")) continue;
            pngs.add(Files.copy(src, (i % 2 == 0 ? tree : sub).resolve(src.getFileName())));
        }
        Files.writeString(tree.resolve("notes.txt"), "not an image\n", StandardCharsets.UTF_8);

        Dataset<Row> listed = ImageFiles.paths(spark, tree.toString(), "*.png");
        assertThat(listed.columns()).containsExactly("path");
        assertThat(listed.rdd().getNumPartitions()).isLessThanOrEqualTo(2 * spark.sparkContext().defaultParallelism());
        List<Row> out = classifier().setInputCol("path").setBatchSize(7).transform(listed).collectAsList();
        assertThat(out).hasSize(pngs.size());
        for (Row r : out) assertMatchesReference(withPath(r, images.resolve(Path.of(localPath(r)).getFileName())));
        // without a glob the text file is listed too, and flagged, not fatal
        List<Row> all = classifier().setInputCol("path").transform(ImageFiles.paths(spark, tree.toString(), null)).collectAsList();
        assertThat(all).hasSize(pngs.size() + 1);
        assertThat(all.stream().filter(r -> r.getAs("error") != null).map(r -> Path.of(localPath(r)).getFileName().toString()))
                .containsExactly("notes.txt");
    }

    @Test
    void badRowsAreFlaggedAndGoodRowsUnchanged() throws IOException {
        Path mixed = Files.createDirectories(tmp.resolve("mixed"));
        List<Path> okHere = new ArrayList<>();
        for (int i = 0; i < good.size(); i += 3) {
            okHere.add(Files.copy(good.get(i), mixed.resolve(good.get(i).getFileName())));
        }
        byte[] png = Files.readAllBytes(good.get(0));
        Files.write(mixed.resolve("bad_truncated.png"), Arrays.copyOf(png, png.length / 2));
        Files.writeString(mixed.resolve("bad_text.png"), "this is not an image\n", StandardCharsets.UTF_8);
        Files.write(mixed.resolve("bad_header_only.png"), Arrays.copyOf(png, 40));
        // Spark's file sources skip empty files: the empty and the missing bytes come as rows
        StructType schema = new StructType().add("path", DataTypes.StringType).add("content", DataTypes.BinaryType);
        Dataset<Row> extra = spark.createDataFrame(List.of(
                RowFactory.create(mixed.resolve("bad_empty.png").toUri().toString(), new byte[0]),
                RowFactory.create(mixed.resolve("bad_null.png").toUri().toString(), null)), schema);
        Dataset<Row> df = spark.read().format("binaryFile").load(mixed.toString()).select("path", "content")
                .union(extra).repartition(3);

        List<Row> out = classifier().setBatchSize(3).transform(df).collectAsList();
        assertThat(out).hasSize(okHere.size() + 5);
        int bad = 0;
        for (Row r : out) {
            String name = Path.of(localPath(r)).getFileName().toString();
            if (name.startsWith("bad_")) {
                bad++;
                assertThat(r.<Object>getAs("labels")).as(name).isNull();
                assertThat(r.<Object>getAs("scores")).as(name).isNull();
                assertThat(r.<Object>getAs("indices")).as(name).isNull();
                assertThat(r.<Object>getAs("logits")).as(name).isNull();
                String err = r.getAs("error");
                assertThat(err).as(name).isNotBlank().doesNotContain("\n");
                if (name.equals("bad_empty.png")) assertThat(err).isEqualTo("empty image bytes");
                if (name.equals("bad_null.png")) assertThat(err).isEqualTo("no image (null bytes)");
                if (name.equals("bad_text.png")) assertThat(err).contains("not an image");
            } else {
                // the reference was made from the original file of the same name
                Row asOriginal = withPath(r, images.resolve(name));
                assertMatchesReference(asOriginal);
            }
        }
        assertThat(bad).isEqualTo(5);

        // by path: an unreadable (missing) file is flagged the same way
        List<Row> rows = List.of(RowFactory.create(good.get(0).toString()), RowFactory.create(tmp.resolve("nope.png").toString()),
                RowFactory.create((Object) null));
        Dataset<Row> paths = spark.createDataFrame(rows, new StructType().add("path", DataTypes.StringType));
        List<Row> byPath = classifier().setInputCol("path").transform(paths).collectAsList();
        assertThat(byPath.get(0).<String>getAs("error")).isNull();
        assertThat(byPath.get(0).getList(byPath.get(0).fieldIndex("labels")).get(0)).isEqualTo(refTop.get(good.get(0).toAbsolutePath().toString()).get(0).label());
        assertThat(byPath.get(1).<String>getAs("error")).startsWith("cannot read " + tmp.resolve("nope.png")).doesNotContain("\n");
        assertThat(byPath.get(1).<Object>getAs("labels")).isNull();
        assertThat(byPath.get(2).<String>getAs("error")).isEqualTo("no image (null path)");
    }

    static Row withPath(Row r, Path p) {
        Object[] v = new Object[r.length()];
        for (int i = 0; i < v.length; i++) v[i] = r.get(i);
        v[r.fieldIndex("path")] = p.toUri().toString();
        return new org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema(v, r.schema());
    }

    @Test
    void savedAndLoadedPipelineGivesTheSameOutput() throws IOException {
        Dataset<Row> df = binaryFiles(images, 2).select("path", "content");
        ZooImageClassifier stage = classifier().setBatchSize(6).setTopK(2).setKeepInput(false);
        PipelineModel fitted = new Pipeline().setStages(new PipelineStage[]{stage}).fit(df);
        Path dir = tmp.resolve("pipeline");
        fitted.write().overwrite().save(dir.toString());
        PipelineModel loaded = PipelineModel.load(dir.toString());

        ZooImageClassifier back = (ZooImageClassifier) loaded.stages()[0];
        assertThat(back.uid()).isEqualTo(stage.uid());
        assertThat(back.getModel()).isEqualTo(MODEL);
        assertThat(back.getTopK()).isEqualTo(2);
        assertThat(back.getBatchSize()).isEqualTo(6);
        assertThat(back.getKeepInput()).isFalse();
        assertThat(back.getLogitsCol()).isEqualTo("logits");

        List<Row> a = fitted.transform(df).orderBy("path").collectAsList();
        List<Row> b = loaded.transform(df).orderBy("path").collectAsList();
        assertThat(a).hasSize(good.size()).isEqualTo(b);
        assertThat(Arrays.asList(a.get(0).schema().fieldNames())).containsExactly("path", "labels", "scores", "indices", "logits", "error");

        // the Transformer alone, written and read
        Path one = tmp.resolve("stage");
        stage.save(one.toString());
        List<Row> c = ZooImageClassifier.load(one.toString()).transform(df).orderBy("path").collectAsList();
        assertThat(c).isEqualTo(a);
    }

    @Test
    void unknownModelFailsOnTheDriverBeforeAnyTask() throws IOException {
        String expected;
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(cache).offline(true).build())) {
            expected = catchMessage(() -> zoo.card("convit_digitz"));
        }
        assertThat(expected).contains("convit_digitz");
        String group = "unknown-model-" + System.nanoTime();
        spark.sparkContext().setJobGroup(group, "unknown model", false);
        try {
            Dataset<Row> df = binaryFiles(images, 2);
            assertThatThrownBy(() -> classifier().setModel("convit_digitz").transform(df).collectAsList())
                    .isInstanceOf(UnknownModelException.class).hasMessage(expected);
            assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(group)).isEmpty();
        } finally {
            spark.sparkContext().clearJobGroup();
        }
    }

    static String catchMessage(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        throw new AssertionError("no exception");
    }

    static final AtomicInteger INJECTED = new AtomicInteger();

    /** Passes rows through, but the first attempt of partition 0 dies after three rows. */
    static final class FailFirstAttempt implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> it) {
            TaskContext tc = TaskContext.get();
            List<Row> seen = new ArrayList<>();
            while (it.hasNext()) {
                seen.add(it.next());
                if (tc.partitionId() == 0 && tc.attemptNumber() == 0 && seen.size() == 3) {
                    INJECTED.incrementAndGet();
                    throw new IllegalStateException("injected failure");
                }
            }
            return seen.iterator();
        }
    }

    @Test
    void retriedTaskGivesTheSameOutput() {
        Dataset<Row> df = binaryFiles(images, 3).select("path", "content");
        Dataset<Row> classified = classifier().setBatchSize(4).transform(df);
        List<Row> plain = classified.collectAsList();
        int before = INJECTED.get();
        List<Row> retried = classified.mapPartitions(new FailFirstAttempt(), Encoders.row(classified.schema())).collectAsList();
        assertThat(INJECTED.get()).isEqualTo(before + 1);
        assertThat(retried).hasSameSizeAs(plain);
        assertThat(sortByPath(retried)).isEqualTo(sortByPath(plain));
    }

    static List<Row> sortByPath(List<Row> rows) {
        List<Row> s = new ArrayList<>(rows);
        s.sort((a, b) -> a.<String>getAs("path").compareTo(b.getAs("path")));
        return s;
    }

    @Test
    void onnxFileGivesTheSamePredictionsAndSessionsAreShared() throws IOException {
        Path onnx;
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(cache).offline(true).build())) {
            onnx = zoo.onnx(MODEL);
        }
        ZooImageClassifier byFile = new ZooImageClassifier().setModelPath(onnx.toString()).setTopK(K)
                .setIndicesCol("indices").setLogitsCol("logits").setBatchSize(8);
        List<Row> out = byFile.transform(binaryFiles(images, 2)).collectAsList();
        assertThat(out).hasSize(good.size());
        out.forEach(ZooImageClassifierTest::assertMatchesReference);

        classifier().transform(binaryFiles(images, 3)).collectAsList();
        classifier().setBatchSize(5).transform(binaryFiles(images, 2)).collectAsList();
        // the zoo name and the file name the same files: every job of every test ran on one CPU session
        assertThat(ExecutorModels.openSessions()).isEqualTo(1);
    }

    @Test
    void badSettingsAreRejectedOnTheDriver() {
        Dataset<Row> df = binaryFiles(images, 1);
        assertThatThrownBy(() -> new ZooImageClassifier().transform(df)).hasMessageContaining("no model");
        assertThatThrownBy(() -> classifier().setInputCol("length").transform(df))
                .hasMessageContaining("input column 'length' is bigint");
        assertThatThrownBy(() -> classifier().setInputCol("nope").transform(df)).hasMessageContaining("input column 'nope' not found");
        assertThatThrownBy(() -> classifier().setErrorCol("path").transform(df)).hasMessageContaining("output column 'path' already exists");
        assertThatThrownBy(() -> classifier().setDevice("tpu")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> classifier().setBatchSize(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ZooImageClassifier().setModelPath(tmp.resolve("none.onnx").toString()).transform(df))
                .hasMessageContaining("none.onnx: no such model file");
    }
}
