package org.attnzoo.zoo.arch;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

import java.util.Map;
import java.util.TreeMap;

/**
 * Where a family's forward pass marks the values a backbone offers: the pooled pre-logits vector
 * and each stage's output map. The forward pass is written once, for logits; {@link ModelBuilder}
 * then makes the requested marks the graph's outputs and prunes what they do not need (the head,
 * later stages).
 *
 * <pre>{@code
 * Taps taps = Taps.of(g);
 * ... taps.feature(i, x);                  // NCHW, after stage i
 * taps.feature(i, () -> toNchw(tokens));   // built only when feature i is returned
 * if (taps.wants(i)) taps.feature(i, norm_i(x));   // layers only the authors' backbone class adds
 * taps.embedding(pooled);                  // [N, D], what the classifier head reads
 * }</pre>
 */
public final class Taps {
    private final Map<Integer, Value> features = new TreeMap<>();
    private Value embedding;
    private java.util.Set<Integer> wanted = java.util.Set.of();

    private Taps() {
    }

    /** The taps of a graph under construction (one per graph). */
    public static Taps of(Graph g) {
        return g.memo("attnzoo.taps", Taps::new);
    }

    void request(int[] indices) {
        java.util.Set<Integer> s = new java.util.HashSet<>();
        for (int i : indices) s.add(i);
        wanted = s;
    }

    /**
     * Whether this build returns feature map {@code index}. Layers that exist only in the authors'
     * backbone class (per-output norms) are built only then, so a classifier build reads no weights
     * for them.
     */
    public boolean wants(int index) {
        return wanted.contains(index);
    }

    /**
     * Marks stage {@code index}'s output, built only when this build returns it: use this form
     * when the map must first be brought to NCHW (a transpose of tokens), so a classifier build
     * emits nothing for it.
     */
    public void feature(int index, java.util.function.Supplier<Value> nchw) {
        if (wants(index)) feature(index, nchw.get());
    }

    /** Marks stage {@code index}'s output, NCHW. */
    public void feature(int index, Value nchw) {
        if (nchw.rank() != 4) throw new IllegalArgumentException("feature " + index + " must be NCHW, has shape rank " + nchw.rank());
        if (features.putIfAbsent(index, nchw) != null) throw new IllegalStateException("feature " + index + " marked twice");
    }

    /** Marks the pooled pre-logits vector {@code [N, D]}. */
    public void embedding(Value pooled) {
        if (pooled.rank() != 2) throw new IllegalArgumentException("embedding must be [N, D], has shape rank " + pooled.rank());
        if (embedding != null) throw new IllegalStateException("embedding marked twice");
        embedding = pooled;
    }

    Value feature(int index) {
        return features.get(index);
    }

    Map<Integer, Value> features() {
        return features;
    }

    Value embedding() {
        return embedding;
    }
}
