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

    /** A built graph with the number of parameters it consumed. */
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
        try (StateDict sd = org.attnzoo.converters.Checkpoints.open(checkpoint, options)) {
            Built b = build(a, sd);
            org.attnzoo.sdk.graph.OnnxModel.save(b.graph(), output);
            return b;
        }
    }

    /**
     * Builds the graph from an open checkpoint. Initializers read the checkpoint lazily: save the
     * graph before closing it (or use {@link #convert}).
     */
    public static Built build(Architecture a, StateDict checkpoint) {
        return build(a, Weights.of(a.adapt(checkpoint)), checkpoint.source());
    }

    public static Built buildSynthetic(Architecture a, long seed) {
        return build(a, Weights.synthetic(seed), "synthetic");
    }

    private static Built build(Architecture a, Weights w, String source) {
        a.declareIgnorable(w);
        Graph g = new Graph(a.name());
        int[] in = a.inputSize();
        Value image = g.input(INPUT, DType.F32, Shapes.DYN, in[0], in[1], in[2]);
        Value logits = a.forward(g, w.root(g), image);
        g.output(logits, OUTPUT);
        w.finish();
        g.metadata("attnzoo.model", a.name());
        g.metadata("attnzoo.family", a.family());
        g.metadata("attnzoo.num_classes", Integer.toString(a.numClasses()));
        g.metadata("attnzoo.parameters", Long.toString(w.parameterCount()));
        g.metadata("attnzoo.macs", Long.toString(g.macs()));
        g.metadata("attnzoo.weights", w.isSynthetic() ? "synthetic" : new java.io.File(source).getName());
        for (Map.Entry<String, String> e : a.preprocessing().toMetadata().entrySet()) g.metadata(e.getKey(), e.getValue());
        return new Built(g, w.parameterCount());
    }
}
