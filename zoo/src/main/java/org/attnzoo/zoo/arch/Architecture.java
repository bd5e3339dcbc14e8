package org.attnzoo.zoo.arch;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.Scope;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.tensor.StateDict;

/**
 * One named model (a family's variant): its input, its forward pass written with the graph
 * builder, its preprocessing, and how upstream checkpoints map onto its weight names.
 */
public interface Architecture {
    /** The upstream name ({@code convit_tiny}). */
    String name();

    String family();

    Preprocessing preprocessing();

    int numClasses();

    /** Input shape {@code [C, H, W]} (the batch is a run-time size). */
    default int[] inputSize() {
        return preprocessing().inputSize();
    }

    /** The classification forward pass: image {@code [N, C, H, W]} to logits {@code [N, classes]}. */
    Value forward(Graph g, Scope weights, Value image);

    /**
     * Puts a checkpoint in the layout {@link #forward} reads (timm's): renames keys of other
     * layouts (the authors' own). Identity when upstream layouts agree.
     */
    default StateDict adapt(StateDict upstream) {
        return upstream;
    }

    /**
     * The embedding and feature maps this model offers (marked in {@link #forward} with
     * {@link Taps}); null where the family offers logits only.
     */
    default Backbone backbone() {
        return null;
    }

    /**
     * This model at another input size ({@code height × width}). The default supports only the
     * card's size; families that can run at other sizes override it and check the size (window and
     * stride divisibility) with an error that names the valid sizes.
     */
    default Architecture atSize(int height, int width) {
        int[] in = inputSize();
        if (height == in[1] && width == in[2]) return this;
        throw new IllegalArgumentException(name() + " runs only at " + in[1] + "x" + in[2] + " (the " + family()
                + " family is not built for other input sizes)");
    }

    /** Lets checkpoint keys that inference does not use (recomputed buffers) stay unused. */
    default void declareIgnorable(Weights w) {
    }
}
