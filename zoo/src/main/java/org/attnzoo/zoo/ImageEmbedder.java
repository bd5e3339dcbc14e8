package org.attnzoo.zoo;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.ModelRuntimeException;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.image.ImagePreprocessor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Embeddings of images: a model's pooled pre-logits vector (timm's
 * {@code forward_head(pre_logits=True)}), with the preprocessing its card names. For retrieval,
 * deduplication and clustering: compare vectors with {@link #cosine}. Thread-safe; close it when done.
 *
 * <pre>{@code
 * try (AttnZoo zoo = AttnZoo.local();
 *      ImageEmbedder e = zoo.embedder("convit_tiny", Device.auto())) {
 *     float[] a = e.embed(Path.of("a.jpg")), b = e.embed(Path.of("b.jpg"));
 *     double similarity = ImageEmbedder.cosine(a, b);
 * }
 * }</pre>
 */
public final class ImageEmbedder implements AutoCloseable {
    private final OnnxSession session;
    private final ImagePreprocessor pre;
    private final int dim;

    ImageEmbedder(OnnxSession session, Preprocessing preprocessing) {
        this.session = session;
        this.pre = new ImagePreprocessor(preprocessing);
        String d = session.metadata().get("attnzoo.embedding_dim");
        if (!ModelOutput.Kind.EMBEDDING.label().equals(session.metadata().get("attnzoo.output")) || d == null) {
            String path = session.path().toString();
            session.close();
            throw new IllegalArgumentException(path + ": not an embedding model (convert it with --output embedding)");
        }
        this.dim = Integer.parseInt(d);
    }

    /**
     * Opens an embedding model converted earlier ({@code attnzoo convert MODEL --output embedding});
     * the preprocessing is the one stored in its metadata.
     */
    public static ImageEmbedder open(Path onnx, Device device) {
        OnnxSession s = OnnxSession.open(onnx, RuntimeOptions.defaults().withDevice(device));
        Preprocessing p = Preprocessing.fromMetadata(s.metadata());
        if (p == null) {
            s.close();
            throw new ModelRuntimeException(onnx + ": the model states no preprocessing (not written by AttnZoo?)");
        }
        return new ImageEmbedder(s, p);
    }

    /** Width of the vectors. */
    public int dimension() {
        return dim;
    }

    public Device device() {
        return session.device();
    }

    /** The embedding of one image file. */
    public float[] embed(Path image) {
        return embed(List.of(image)).get(0);
    }

    /** The embeddings of several images, run as one batch. */
    public List<float[]> embed(List<Path> images) {
        try {
            NdArray e = embeddings(pre.batch(images));
            List<float[]> out = new ArrayList<>(images.size());
            for (int i = 0; i < images.size(); i++) out.add(Arrays.copyOfRange(e.data(), i * dim, (i + 1) * dim));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Raw embeddings {@code [N, D]} of a preprocessed batch {@code [N, 3, H, W]}. */
    public NdArray embeddings(NdArray batch) {
        return session.run(batch);
    }

    /** Cosine similarity of two vectors of the same length (0 when either is all zeros). */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("vectors differ in length: " + a.length + " and " + b.length);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    @Override
    public void close() {
        session.close();
    }
}
