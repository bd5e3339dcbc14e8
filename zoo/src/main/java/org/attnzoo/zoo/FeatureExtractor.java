package org.attnzoo.zoo;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.ModelRuntimeException;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.image.ImagePreprocessor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A backbone's feature maps: the stage outputs a detection or segmentation head takes, NCHW, by
 * name ({@code features.0}, {@code features.1}, ...), with the channel count and stride of each
 * (from the model's metadata). Thread-safe; close it when done.
 */
public final class FeatureExtractor implements AutoCloseable {
    private final OnnxSession session;
    private final ImagePreprocessor pre;
    private final List<Backbone.Stage> stages;

    FeatureExtractor(OnnxSession session, Preprocessing preprocessing) {
        this.session = session;
        this.pre = new ImagePreprocessor(preprocessing);
        String f = session.metadata().get("attnzoo.features");
        if (!ModelOutput.Kind.FEATURES.label().equals(session.metadata().get("attnzoo.output")) || f == null) {
            String path = session.path().toString();
            session.close();
            throw new IllegalArgumentException(path + ": not a feature model (convert it with --output features)");
        }
        this.stages = Backbone.decode(f);
    }

    /** Opens a feature model converted earlier ({@code attnzoo convert MODEL --output features}). */
    public static FeatureExtractor open(Path onnx, Device device) {
        OnnxSession s = OnnxSession.open(onnx, RuntimeOptions.defaults().withDevice(device));
        Preprocessing p = Preprocessing.fromMetadata(s.metadata());
        if (p == null) {
            s.close();
            throw new ModelRuntimeException(onnx + ": the model states no preprocessing (not written by AttnZoo?)");
        }
        return new FeatureExtractor(s, p);
    }

    /** The maps this model returns: index, channels, stride relative to the input. */
    public List<Backbone.Stage> stages() {
        return stages;
    }

    public Device device() {
        return session.device();
    }

    /** The feature maps of one image file, by output name ({@code features.N}), each {@code [1, C, h, w]}. */
    public Map<String, NdArray> features(Path image) {
        try {
            return features(pre.batch(List.of(image)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The feature maps of a preprocessed batch {@code [N, 3, H, W]}, by output name, in stage order. */
    public Map<String, NdArray> features(NdArray batch) {
        return session.run(Map.of(session.inputNames().get(0), batch));
    }

    @Override
    public void close() {
        session.close();
    }
}
