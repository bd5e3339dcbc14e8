package org.attnzoo.zoo;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.zoo.hub.ModelEntry;
import org.attnzoo.zoo.image.ImagePreprocessor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * A classifier ready to run: the converted ONNX model opened on a device, the preprocessing of its
 * model card and its labels. Thread-safe; close it when done.
 */
public final class ImageClassifier implements AutoCloseable {
    private final ModelEntry card;
    private final String tag;
    private final OnnxSession session;
    private final ImagePreprocessor pre;
    private final List<String> labels;

    ImageClassifier(ModelEntry card, String tag, OnnxSession session, Preprocessing preprocessing, List<String> labels) {
        this.card = card;
        this.tag = tag;
        this.session = session;
        this.pre = new ImagePreprocessor(preprocessing);
        this.labels = labels;
    }

    /** The registry entry this classifier was made from. */
    public ModelEntry card() {
        return card;
    }

    /** The weight tag in use, e.g. {@code convit_tiny.fb_in1k}. */
    public String tag() {
        return tag;
    }

    public Device device() {
        return session.device();
    }

    public Path modelFile() {
        return session.path();
    }

    public List<String> labels() {
        return labels;
    }

    /** The {@code k} most probable classes of one image file. */
    public List<Prediction> classify(Path image, int k) {
        return classify(List.of(image), k).get(0);
    }

    /** The top {@code k} of every image, as one batch. */
    public List<List<Prediction>> classify(List<Path> images, int k) {
        try {
            return topK(logits(pre.batch(images)), k);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Raw logits {@code [N, classes]} of a preprocessed batch {@code [N, 3, H, W]}. */
    public NdArray logits(NdArray batch) {
        return session.run(batch);
    }

    /** Softmax probabilities and the top {@code k} per row of a logits array. */
    public List<List<Prediction>> topK(NdArray logits, int k) {
        return topK(logits, k, labels);
    }

    /**
     * Softmax probabilities and the top {@code k} per row of a logits array {@code [N, classes]},
     * named by {@code labels} (a class without a label is named by its index). Ties go to the lower index.
     */
    public static List<List<Prediction>> topK(NdArray logits, int k, List<String> labels) {
        int classes = (int) logits.shape()[1];
        int rows = (int) logits.shape()[0];
        List<List<Prediction>> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            float[] z = new float[classes];
            System.arraycopy(logits.data(), r * classes, z, 0, classes);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float v : z) max = Math.max(max, v);
            double[] p = new double[classes];
            for (int i = 0; i < classes; i++) sum += p[i] = Math.exp(z[i] - max);
            final double s = sum;
            out.add(IntStream.range(0, classes).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -p[i]).thenComparingInt(i -> i))
                    .limit(Math.max(1, Math.min(k, classes)))
                    .map(i -> new Prediction(i, i < labels.size() ? labels.get(i) : Integer.toString(i), (float) (p[i] / s)))
                    .toList());
        }
        return out;
    }

    @Override
    public void close() {
        session.close();
    }
}
