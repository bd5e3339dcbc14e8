package org.attnzoo.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.SerializableConfiguration;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.zoo.ImageClassifier;
import org.attnzoo.zoo.Prediction;
import org.attnzoo.zoo.image.ImagePreprocessor;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Classifies one partition: rows are taken {@code batchSize} at a time, each image decoded and
 * prepared as {@code ImageClassifier} does, the good ones run as one batch on the executor's
 * shared session, and one output row given per input row, in order. An image that cannot be read
 * or decoded gets null predictions and a one-line reason. Output depends only on the partition's
 * rows, so a retried task gives the same rows.
 */
final class ClassifyPartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    /** What to read and what to write. */
    record Options(int inputIndex, boolean paths, boolean keepInput, int topK, int batchSize, String device,
                   int intraOpThreads, boolean indices, boolean logits) implements Serializable {
    }

    private final ShippedModel model;
    private final Options opt;
    private final Broadcast<SerializableConfiguration> hadoop;

    ClassifyPartition(ShippedModel model, Options opt, Broadcast<SerializableConfiguration> hadoop) {
        this.model = model;
        this.opt = opt;
        this.hadoop = hadoop;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        if (!rows.hasNext()) return rows;
        ExecutorModels.Opened m = ExecutorModels.get(model, opt.device(), opt.intraOpThreads());
        Configuration conf = hadoop == null ? null : hadoop.value().value();
        return new Iterator<>() {
            private final ArrayDeque<Row> ready = new ArrayDeque<>();

            @Override
            public boolean hasNext() {
                if (ready.isEmpty() && rows.hasNext()) runBatch(m, rows, conf, ready);
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return ready.poll();
            }
        };
    }

    private void runBatch(ExecutorModels.Opened m, Iterator<Row> rows, Configuration conf, ArrayDeque<Row> out) {
        List<Row> batch = new ArrayList<>(opt.batchSize());
        while (batch.size() < opt.batchSize() && rows.hasNext()) batch.add(rows.next());
        int n = batch.size();
        float[][] prepared = new float[n][];
        String[] errors = new String[n];
        int good = 0;
        for (int i = 0; i < n; i++) {
            try {
                prepared[i] = m.preprocessor().prepare(ImagePreprocessor.decode(bytes(batch.get(i), conf)));
                good++;
            } catch (IOException | RuntimeException e) {
                errors[i] = oneLine(e);
            }
        }
        List<List<Prediction>> top = List.of();
        float[] logits = null;
        int classes = 0;
        if (good > 0) {
            int h = model.inputSize()[1], w = model.inputSize()[2];
            int per = 3 * h * w;
            float[] x = new float[good * per];
            int j = 0;
            for (float[] p : prepared) {
                if (p != null) System.arraycopy(p, 0, x, j++ * per, per);
            }
            NdArray y = m.session().run(new NdArray(x, new long[]{good, 3, h, w}));
            classes = (int) y.shape()[1];
            logits = y.data();
            top = ImageClassifier.topK(y, opt.topK(), model.labels());
        }
        int j = 0;
        for (int i = 0; i < n; i++) {
            Row in = batch.get(i);
            List<Object> v = new ArrayList<>(in.length() + 5);
            for (int c = 0; c < in.length(); c++) {
                if (opt.keepInput() || c != opt.inputIndex()) v.add(in.get(c));
            }
            if (prepared[i] == null) {
                v.add(null);
                v.add(null);
                if (opt.indices()) v.add(null);
                if (opt.logits()) v.add(null);
                v.add(errors[i]);
            } else {
                List<Prediction> ps = top.get(j);
                String[] labels = new String[ps.size()];
                float[] scores = new float[ps.size()];
                int[] idx = new int[ps.size()];
                for (int t = 0; t < ps.size(); t++) {
                    labels[t] = ps.get(t).label();
                    scores[t] = ps.get(t).probability();
                    idx[t] = ps.get(t).index();
                }
                v.add(labels);
                v.add(scores);
                if (opt.indices()) v.add(idx);
                if (opt.logits()) {
                    float[] z = new float[classes];
                    System.arraycopy(logits, j * classes, z, 0, classes);
                    v.add(z);
                }
                v.add(null);
                j++;
            }
            out.add(RowFactory.create(v.toArray()));
        }
    }

    /** The row's encoded image: the bytes themselves, or the file at the row's path. */
    private byte[] bytes(Row row, Configuration conf) throws IOException {
        if (row.isNullAt(opt.inputIndex())) throw new IOException("no image (null " + (opt.paths() ? "path" : "bytes") + ")");
        if (!opt.paths()) return (byte[]) row.get(opt.inputIndex());
        String path = row.getString(opt.inputIndex());
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
            FileSystem fs = p.getFileSystem(conf);
            if (fs instanceof LocalFileSystem local) {
                // Hadoop's local file system checks sums: a status call and a .crc lookup per file
                // before the read. Image files have no .crc siblings, so read the file itself.
                return readLocal(local.pathToFile(p).toPath());
            }
            if (fs instanceof RawLocalFileSystem raw) return readLocal(raw.pathToFile(p).toPath());
            long len = fs.getFileStatus(p).getLen();
            if (len > Integer.MAX_VALUE - 16) throw new IOException("file too large for an image (" + len + " bytes)");
            byte[] b = new byte[(int) len];
            try (FSDataInputStream in = fs.open(p)) {
                in.readFully(0, b);
            }
            return b;
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("cannot read " + path + ": " + oneLine(e), e);
        }
    }

    private static byte[] readLocal(java.nio.file.Path file) throws IOException {
        try {
            long len = Files.size(file);
            if (len > Integer.MAX_VALUE - 16) throw new IOException("file too large for an image (" + len + " bytes)");
            return Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("no such file", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new IOException("permission denied", e);
        }
    }

    /** An exception as one line: its message's first line, or its class when it has none. */
    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        String first = m.strip().lines().findFirst().orElse("");
        return first.length() > 300 ? first.substring(0, 300) + "..." : first;
    }
}
