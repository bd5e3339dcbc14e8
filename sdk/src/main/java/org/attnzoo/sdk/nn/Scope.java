package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * A module path inside the weights ({@code blocks.3.attn}), the way PyTorch names submodules.
 * Layers take a scope and ask for their parameters by local name.
 */
public final class Scope {
    private final Weights weights;
    private final Graph graph;
    private final String prefix;

    Scope(Weights weights, Graph graph, String prefix) {
        this.weights = weights;
        this.graph = graph;
        this.prefix = prefix;
    }

    public Graph graph() {
        return graph;
    }

    public Weights weights() {
        return weights;
    }

    /** The child module {@code name} (may contain dots: {@code "blocks.3"}). */
    public Scope scope(String name) {
        return new Scope(weights, graph, path(name));
    }

    public Scope scope(String name, int index) {
        return scope(name + "." + index);
    }

    /** The full PyTorch name of a parameter of this module. */
    public String path(String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    public String prefix() {
        return prefix;
    }

    /** Whether the checkpoint has this parameter (always false for synthetic weights). */
    public boolean has(String name) {
        return weights.has(path(name));
    }

    /** The tensor as stored (upcast to float32), checked against {@code shape}. */
    public TensorData tensor(String name, long... shape) {
        return weights.take(path(name), shape);
    }

    /**
     * A buffer's values (e.g. BatchNorm {@code running_mean}): read and checked like a parameter,
     * but not counted in the model's parameter count, as PyTorch's {@code parameters()} doesn't.
     */
    public float[] buffer(String name, long... shape) {
        return weights.take(path(name), shape, false).toFloatArray();
    }

    /** The tensor's values as floats, for build-time folding. */
    public float[] floats(String name, long... shape) {
        return tensor(name, shape).toFloatArray();
    }

    /** The parameter as a graph initializer named by its PyTorch path. */
    public Value param(String name, long... shape) {
        return graph.initializer(path(name), tensor(name, shape));
    }

    /** A parameter transformed at build time (transposed, folded), stored under its PyTorch path. */
    public Value derived(String name, String doc, float[] data, long... shape) {
        return graph.initializer(path(name), new FloatTensor(shape, data), doc);
    }
}
