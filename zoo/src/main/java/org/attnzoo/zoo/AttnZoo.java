package org.attnzoo.zoo;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.BuilderFingerprint;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.hub.CachedFile;
import org.attnzoo.zoo.hub.ConvertedKey;
import org.attnzoo.zoo.hub.FetchedModel;
import org.attnzoo.zoo.hub.ModelEntry;
import org.attnzoo.zoo.hub.ModelHub;
import org.attnzoo.zoo.hub.ProgressListener;
import org.attnzoo.zoo.hub.ProgressReporters;
import org.attnzoo.zoo.hub.ResolvedModel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The model zoo from Java: pick a model by name (or {@code name.tag}), get verified weights in the
 * cache, the converted ONNX model (converted once per model, tag, converter version, opset and
 * precision) and a classifier on the device you ask for.
 *
 * <pre>{@code
 * try (AttnZoo zoo = AttnZoo.local();
 *      ImageClassifier m = zoo.classifier("convit_digits", Device.auto())) {
 *     List<Prediction> top = m.classify(Path.of("digit_3.png"), 3);
 * }
 * }</pre>
 */
public final class AttnZoo implements AutoCloseable {
    private final ModelHub hub;

    private AttnZoo(ModelHub hub) {
        this.hub = hub;
    }

    /** The zoo as the environment configures it (ATTNZOO_HOME, ATTNZOO_OFFLINE, ATTNZOO_MIRROR, ATTNZOO_REGISTRY). */
    public static AttnZoo local() {
        try {
            return new AttnZoo(ModelHub.fromEnv());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static AttnZoo of(ModelHub hub) {
        return new AttnZoo(hub);
    }

    public ModelHub hub() {
        return hub;
    }

    /** Registry entries matching a wildcard pattern ({@code convit_*}); null lists all. */
    public List<ModelEntry> list(String pattern) {
        return hub.registry().list(pattern);
    }

    /** The model card (registry entry) of {@code name} or {@code name.tag}. */
    public ModelEntry card(String ref) {
        return hub.resolve(ref).model();
    }

    /** Downloads (or finds) the weights of {@code ref} and returns its converted ONNX model file. */
    public Path onnx(String ref) throws IOException {
        return onnx(ref, ModelOutput.logits(), null);
    }

    /**
     * The converted model of {@code ref} returning {@code output} (logits, the embedding, or feature
     * maps), at the card's input size or at {@code size} ({@code {height, width}}, null for the
     * card's). An output or size the model does not offer fails before anything is downloaded, with
     * a message naming what it offers.
     */
    public Path onnx(String ref, ModelOutput output, int[] size) throws IOException {
        ResolvedModel rm = hub.resolve(ref);
        Architecture arch = Architectures.get(rm.name());
        int[] card = arch.inputSize();
        if (size != null && size[0] == card[1] && size[1] == card[2]) size = null;
        if (size != null) arch = arch.atSize(size[0], size[1]);
        ModelBuilder.checkOffered(arch, output);
        final Architecture a = arch;
        ConvertedKey key = convertedKey(rm.tag(), a, output, size);
        var existing = hub.cache().findConverted(key);
        if (existing.isPresent()) return existing.get();
        FetchedModel fetched = hub.fetch(rm);
        CachedFile w = fetched.weights();
        var opts = org.attnzoo.converters.Checkpoints.Options.defaults();
        if (w.wrappingKey() != null) opts = opts.withEntry(w.wrappingKey());
        final var o = opts;
        return hub.cache().convertedOrCreate(key, out -> ModelBuilder.convert(a, w.path(), o, output, out));
    }

    /** An embedder (pooled pre-logits vectors) for {@code ref} on {@code device}, preprocessing from its card. */
    public ImageEmbedder embedder(String ref, Device device) {
        try {
            return ImageEmbedder.open(onnx(ref, ModelOutput.embedding(), null), device);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A feature extractor returning the stage maps {@code outIndices} (none: all) of {@code ref}'s backbone. */
    public FeatureExtractor featureExtractor(String ref, Device device, int... outIndices) {
        try {
            return FeatureExtractor.open(onnx(ref, ModelOutput.features(outIndices), null), device);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The cache key of {@code arch} converted with the weights of {@code tag}: its converter version
     * is the fingerprint of the code that builds the graph ({@link BuilderFingerprint}), never a
     * hand-kept number, so a cache does not serve a model that older builder code emitted.
     */
    public static ConvertedKey convertedKey(String tag, Architecture arch) {
        return convertedKey(tag, arch, ModelOutput.logits(), null);
    }

    /** The cache key of a graph returning {@code output} at {@code size} (null: the card's): {@code fp32+embedding}, {@code fp32+features0-1+320x320}. */
    public static ConvertedKey convertedKey(String tag, Architecture arch, ModelOutput output, int[] size) {
        String slot = "fp32";
        if (output.kind() != ModelOutput.Kind.LOGITS) slot += "+" + output.slug();
        if (size != null) slot += "+" + size[0] + "x" + size[1];
        return new ConvertedKey(tag, BuilderFingerprint.of(arch), Graph.DEFAULT_OPSET, slot);
    }

    /** A classifier for {@code ref} on {@code device}, preprocessing and labels from its card. */
    public ImageClassifier classifier(String ref, Device device) {
        try {
            ResolvedModel rm = hub.resolve(ref);
            Path model = onnx(ref);
            OnnxSession s = OnnxSession.open(model, RuntimeOptions.defaults().withDevice(device));
            return new ImageClassifier(rm.model(), rm.tag(), s, preprocessing(rm.model()), labels(rm.model()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The card's preprocessing (the SDK's one preprocessing type, which the registry reads directly). */
    public static Preprocessing preprocessing(ModelEntry e) {
        return e.preprocessing();
    }

    /** Labels of a card: a label set shipped with AttnZoo ({@code imagenet-1k}, {@code digits}). */
    public static List<String> labels(ModelEntry e) throws IOException {
        String id = e.labels();
        try (InputStream in = AttnZoo.class.getResourceAsStream("/org/attnzoo/zoo/labels/" + id + ".txt")) {
            if (in == null) return List.of();
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().toList();
        }
    }

    /** Console progress for interactive use (a bar on a terminal, plain lines otherwise). */
    public static ProgressListener consoleProgress() {
        return ProgressReporters.forConsole();
    }

    @Override
    public void close() {
    }
}
