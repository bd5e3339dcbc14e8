package org.attnzoo.sdk.tensor;

import java.util.Set;

/**
 * A flat map from PyTorch-style names ({@code blocks.3.attn.qkv.weight}) to lazily read tensors.
 * Implementations hold the checkpoint open (e.g. a memory map) until closed.
 */
public interface StateDict extends AutoCloseable {

    /** Keys in checkpoint order. */
    Set<String> keys();

    /** The tensor for {@code key}, or null if absent. */
    TensorData get(String key);

    default boolean contains(String key) {
        return get(key) != null;
    }

    /** Where this came from (a file path, or a description), used in error messages. */
    String source();

    @Override
    default void close() {
    }
}
