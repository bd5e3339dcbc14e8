package org.attnzoo.sdk.graph;

import org.attnzoo.sdk.tensor.DType;

/**
 * A tensor-valued edge of a graph under construction: its ONNX name, element type and static shape
 * (dimensions may be {@link Shapes#DYN}).
 */
public final class Value {
    private final Graph graph;
    private final String name;
    private final DType dtype;
    private final long[] shape;

    Value(Graph graph, String name, DType dtype, long[] shape) {
        this.graph = graph;
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
    }

    public Graph graph() {
        return graph;
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i} (negative counts from the end). */
    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    @Override
    public String toString() {
        return name + ":" + dtype + Shapes.str(shape);
    }
}
