package org.attnzoo.zoo.arch;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.StateDict;

import java.util.Map;

/** Builds the ONNX graph of an {@link Architecture} from a checkpoint (or synthetic weights). */
public final class ModelBuilder {
    public static final String INPUT = "pixel_values";
    public static final String OUTPUT = "logits";

    private ModelBuilder() {
    }

    /**
     * A built graph with its parameter count: the checkpoint elements a logits graph consumed, or,
     * for an embedding or feature graph, the elements it still stores once the head is cut away.
     */
    public record Built(Graph graph, long parameters) {
    }

    /**
     * Converts a checkpoint file to an ONNX model file in one step (the checkpoint is opened,
     * read while the model is written, and closed): the one conversion path of the API, the cache
     * and the CLI. {@code wrapKey} null chooses the wrapping entry automatically.
     */
    public static Built convert(Architecture a, java.nio.file.Path checkpoint, String wrapKey, java.nio.file.Path output) throws java.io.IOException {
        org.attnzoo.converters.Checkpoints.Options o = org.attnzoo.converters.Checkpoints.Options.defaults();
        return convert(a, checkpoint, wrapKey == null ? o : o.withEntry(wrapKey), output);
    }

    /** {@link #convert(Architecture, java.nio.file.Path, String, java.nio.file.Path)} with full checkpoint options. */
    public static Built convert(Architecture a, java.nio.file.Path checkpoint, org.attnzoo.converters.Checkpoints.Options options,
                                java.nio.file.Path output) throws java.io.IOException {
        return convert(a, checkpoint, options, ModelOutput.logits(), output);
    }

    /** {@link #convert(Architecture, java.nio.file.Path, org.attnzoo.converters.Checkpoints.Options, java.nio.file.Path)} returning {@code what}. */
    public static Built convert(Architecture a, java.nio.file.Path checkpoint, org.attnzoo.converters.Checkpoints.Options options,
                                ModelOutput what, java.nio.file.Path output) throws java.io.IOException {
        checkOffered(a, what);
        try (StateDict sd = org.attnzoo.converters.Checkpoints.open(checkpoint, options)) {
            Built b = build(a, sd, what);
            org.attnzoo.sdk.graph.OnnxModel.save(b.graph(), output);
            return b;
        }
    }

    /**
     * Builds the graph from an open checkpoint. Initializers read the checkpoint lazily: save the
     * graph before closing it (or use {@link #convert}).
     */
    public static Built build(Architecture a, StateDict checkpoint) {
        return build(a, checkpoint, ModelOutput.logits());
    }

    /** {@link #build(Architecture, StateDict)} returning {@code what} (logits, embedding or feature maps). */
    public static Built build(Architecture a, StateDict checkpoint, ModelOutput what) {
        checkOffered(a, what);
        if (what.kind() == ModelOutput.Kind.LOGITS && backboneView(checkpoint) != checkpoint) {
            throw new IllegalArgumentException(checkpoint.source() + ": a detection/segmentation checkpoint (its keys are under "
                    + BACKBONE_PREFIX + ") has no classifier; convert its backbone with --output features (ModelOutput.features())");
        }
        StateDict sd = what.kind() == ModelOutput.Kind.LOGITS ? checkpoint : backboneView(checkpoint);
        Weights w = Weights.of(a.adapt(sd));
        // a detection backbone carries layers for outputs this build may not return (the per-output
        // norms of other indices): keys it does not read are not an error here
        if (sd != checkpoint) w.ignoreUnused(k -> true);
        return build(a, w, checkpoint.source(), what);
    }

    /** The prefix detection and segmentation checkpoints (mmdetection, mmsegmentation) put the backbone under. */
    public static final String BACKBONE_PREFIX = "backbone.";

    /**
     * A detection or segmentation checkpoint seen as its backbone: when most keys start with
     * {@code backbone.}, those keys without the prefix and nothing else (neck, heads). Other
     * checkpoints are returned as they are.
     */
    static StateDict backboneView(StateDict sd) {
        long prefixed = sd.keys().stream().filter(k -> k.startsWith(BACKBONE_PREFIX)).count();
        if (prefixed == 0 || prefixed * 2 < sd.keys().size()) return sd;
        return org.attnzoo.converters.KeyMap.builder().keep(java.util.regex.Pattern.quote(BACKBONE_PREFIX) + ".*")
                .renamePrefix(BACKBONE_PREFIX, "").build().apply(sd);
    }

    public static Built buildSynthetic(Architecture a, long seed) {
        return buildSynthetic(a, seed, ModelOutput.logits());
    }

    public static Built buildSynthetic(Architecture a, long seed, ModelOutput what) {
        checkOffered(a, what);
        return build(a, Weights.synthetic(seed), "synthetic", what);
    }

    /** Fails before any weights are read when {@code a} does not offer {@code what}, naming what it offers. */
    public static void checkOffered(Architecture a, ModelOutput what) {
        if (what.kind() == ModelOutput.Kind.LOGITS) return;
        Backbone b = a.backbone();
        if (b == null) {
            throw new IllegalArgumentException(a.name() + " offers logits only (the " + a.family() + " family declares no "
                    + what.kind().label() + " output yet)");
        }
        if (what.kind() == ModelOutput.Kind.EMBEDDING && !b.hasEmbedding()) {
            throw new IllegalArgumentException(a.name() + " offers no embedding; its outputs: " + b.describeOutputs());
        }
        if (what.kind() == ModelOutput.Kind.FEATURES) {
            if (b.stages().isEmpty()) throw new IllegalArgumentException(a.name() + " offers no feature maps; its outputs: " + b.describeOutputs());
            for (int i : what.outIndices()) b.stage(a.name(), i);
        }
    }

    private static Built build(Architecture a, Weights w, String source, ModelOutput what) {
        a.declareIgnorable(w);
        Graph g = new Graph(a.name());
        int[] in = a.inputSize();
        Value image = g.input(INPUT, DType.F32, Shapes.DYN, in[0], in[1], in[2]);
        Taps taps = Taps.of(g);
        Backbone bb = a.backbone();
        int[] indices = what.kind() == ModelOutput.Kind.FEATURES ? what.resolveIndices(bb) : new int[0];
        taps.request(indices);
        Value logits = a.forward(g, w.root(g), image);
        long parameters = w.parameterCount();
        switch (what.kind()) {
            case LOGITS -> g.output(logits, OUTPUT);
            case EMBEDDING -> {
                Value e = taps.embedding();
                if (e == null) throw new IllegalStateException(a.name() + ": the forward pass marked no embedding although the family declares one");
                if (e.dim(1) != bb.embeddingDim()) {
                    throw new IllegalStateException(a.name() + ": embedding has width " + e.dim(1) + ", the family declares " + bb.embeddingDim());
                }
                g.output(e, ModelOutput.EMBEDDING_NAME);
            }
            case FEATURES -> {
                java.util.List<Backbone.Stage> given = new java.util.ArrayList<>();
                for (int i : indices) {
                    Value f = taps.feature(i);
                    Backbone.Stage st = bb.stage(a.name(), i);
                    if (f == null) throw new IllegalStateException(a.name() + ": the forward pass marked no feature map " + i + " although the family declares it");
                    if (f.dim(1) != st.channels()) {
                        throw new IllegalStateException(a.name() + ": feature map " + i + " has " + f.dim(1) + " channels, the family declares " + st.channels());
                    }
                    g.output(f, ModelOutput.FEATURE_PREFIX + i);
                    given.add(st);
                }
                g.metadata("attnzoo.features", Backbone.encode(given));
            }
        }
        java.util.Set<String> before = new java.util.HashSet<>(g.initializers().keySet());
        g.prune();   // what the outputs do not need: the head of a backbone, marks a classifier does not return
        // A key the checkpoint lacks is no problem when its tensor went with the pruned part (a
        // backbone checkpoint has no classifier head); one used anywhere else still fails the build.
        w.finish(what.kind() == ModelOutput.Kind.LOGITS ? k -> false : k -> before.contains(k) && !g.initializers().containsKey(k));
        if (what.kind() != ModelOutput.Kind.LOGITS) parameters = g.initializerElements();
        g.metadata("attnzoo.model", a.name());
        g.metadata("attnzoo.family", a.family());
        g.metadata("attnzoo.output", what.kind().label());
        if (what.kind() == ModelOutput.Kind.LOGITS) g.metadata("attnzoo.num_classes", Integer.toString(a.numClasses()));
        if (what.kind() == ModelOutput.Kind.EMBEDDING) g.metadata("attnzoo.embedding_dim", Integer.toString(bb.embeddingDim()));
        if (bb != null) g.metadata("attnzoo.offers", bb.describeOutputs());
        g.metadata("attnzoo.parameters", Long.toString(parameters));
        g.metadata("attnzoo.macs", Long.toString(g.macs()));
        g.metadata("attnzoo.weights", w.isSynthetic() ? "synthetic" : new java.io.File(source).getName());
        for (Map.Entry<String, String> e : a.preprocessing().toMetadata().entrySet()) g.metadata(e.getKey(), e.getValue());
        return new Built(g, parameters);
    }
}
