package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The weights a graph is built from: a state dict read by PyTorch name, with bookkeeping. Every
 * request states the shape the layer expects; a missing key or a wrong shape is recorded (the
 * build goes on with a placeholder) and {@link #finish()} reports all problems together, with the
 * keys the checkpoint has but the model never asked for (BatchNorm's {@code num_batches_tracked}
 * counters excepted: they exist in every checkpoint with BatchNorm and inference never reads them).
 *
 * <p>Without a checkpoint ({@link #synthetic(long)}) tensors of the requested shapes are made up
 * from a seeded generator: for parameter counts, benchmarks and tests. They are scaled the way
 * networks are initialised, so a synthetic model computes finite, non-degenerate activations (a
 * benchmark of NaNs or of denormals would measure something else): weights of two or more
 * dimensions {@code N(0, 1/(4·fan_in))} (half the variance-preserving scale, so residual stacks
 * without trained statistics do not overflow), BatchNorm running variances in {@code [0.5, 1.5)}, other
 * one-dimensional {@code weight}s (norm scales) {@code 1 + N(0, 0.02²)}, everything else
 * (biases, running means, layer scales, tables of one dimension) {@code N(0, 0.02²)}; a tensor
 * such as {@code [C, 1, 1]} counts as one-dimensional.
 */
public final class Weights {
    private final StateDict source;
    private final Random synth;
    private final Map<String, long[]> used = new LinkedHashMap<>();
    private final List<String> problems = new ArrayList<>();
    private final Map<String, String> missing = new LinkedHashMap<>();   // missing key -> its problem line
    private final List<Predicate<String>> ignorable = new ArrayList<>();
    private long parameters;

    private Weights(StateDict source, Random synth) {
        this.source = source;
        this.synth = synth;
        ignorable.add(k -> k.endsWith(".num_batches_tracked"));   // BatchNorm's training-step counter: never read at inference
    }

    public static Weights of(StateDict stateDict) {
        return new Weights(stateDict, null);
    }

    /** Made-up weights of whatever shapes the model asks for (deterministic for a seed). */
    public static Weights synthetic(long seed) {
        return new Weights(null, new Random(seed));
    }

    public boolean isSynthetic() {
        return source == null;
    }

    public String sourceName() {
        return source == null ? "synthetic weights" : source.source();
    }

    /** Keys matching {@code p} may stay unused (buffers that inference recomputes, e.g. index tables). */
    public Weights ignoreUnused(Predicate<String> p) {
        ignorable.add(p);
        return this;
    }

    public Scope root(Graph g) {
        return new Scope(this, g, "");
    }

    /** Number of checkpoint elements the model consumed: the model's parameter count. */
    public long parameterCount() {
        return parameters;
    }

    public Set<String> usedKeys() {
        return java.util.Collections.unmodifiableSet(used.keySet());
    }

    boolean has(String key) {
        return source == null ? false : source.contains(key);
    }

    /** Fetches a tensor for {@code key}, checking it has {@code shape}; counted as a parameter. */
    TensorData take(String key, long[] shape) {
        return take(key, shape, true);
    }

    /**
     * Fetches a tensor; {@code parameter} false for buffers (BatchNorm running statistics, ...),
     * which upstream does not count in {@code parameters()}.
     */
    TensorData take(String key, long[] shape, boolean parameter) {
        if (used.containsKey(key)) {
            long[] prev = used.get(key);
            if (!Arrays.equals(prev, shape)) {
                problems.add(key + ": requested twice with shapes " + Shapes.str(prev) + " and " + Shapes.str(shape));
            }
        } else {
            used.put(key, shape.clone());
            if (parameter) parameters += Shapes.numel(shape);
        }
        if (source == null) return new FloatTensor(shape, synthesize(key, shape, synth));
        TensorData t = source.get(key);
        if (t == null) {
            String line = "missing key " + key + " (expected " + Shapes.str(shape) + ")";
            problems.add(line);
            missing.putIfAbsent(key, line);
            return zeros(shape);
        }
        if (!Arrays.equals(t.shape(), shape)) {
            problems.add(key + ": expected shape " + Shapes.str(shape) + " but the checkpoint has " + Shapes.str(t.shape()));
            return zeros(shape);
        }
        if (!t.dtype().isFloating()) {
            problems.add(key + ": expected a floating-point tensor but the checkpoint has " + t.dtype());
            return zeros(shape);
        }
        return t.dtype() == DType.F32 ? t : upcast(t);
    }

    /** Made-up values for {@code key}, scaled as the class comment says. */
    static float[] synthesize(String key, long[] shape, Random r) {
        float[] d = new float[Math.toIntExact(Shapes.numel(shape))];
        String leaf = key.substring(key.lastIndexOf('.') + 1);
        int dims = 0;                                   // dimensions longer than 1: [C, 1, 1] scales count as one
        for (long n : shape) if (n > 1) dims++;
        if (leaf.equals("running_var")) {
            for (int i = 0; i < d.length; i++) d[i] = 0.5f + r.nextFloat();
        } else if (dims >= 2 && shape[0] > 0) {
            double std = 0.5 / Math.sqrt(Math.max(1, d.length / shape[0]));
            for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * std);
        } else if (leaf.equals("weight")) {
            for (int i = 0; i < d.length; i++) d[i] = (float) (1 + r.nextGaussian() * 0.02);
        } else {
            for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * 0.02);
        }
        return d;
    }

    private static TensorData zeros(long[] shape) {
        return new FloatTensor(shape, new float[Math.toIntExact(Shapes.numel(shape))]);
    }

    /** A float32 view of a half / bfloat16 / double tensor, converted when its bytes are read. */
    static TensorData upcast(TensorData t) {
        return new TensorData() {
            @Override
            public DType dtype() {
                return DType.F32;
            }

            @Override
            public long[] shape() {
                return t.shape();
            }

            @Override
            public ByteBuffer rawBytes() {
                float[] f = t.toFloatArray();
                ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(f);
                return b;
            }

            @Override
            public float[] toFloatArray() {
                return t.toFloatArray();
            }
        };
    }

    /** Throws {@link WeightMismatchException} listing every problem, if there is any. */
    public void finish() {
        finish(k -> false);
    }

    /**
     * {@link #finish()}, except that a missing key {@code tolerate} accepts is no problem: a key the
     * built graph turned out not to need (a classifier head cut away from a backbone's feature
     * graph, absent from a detection checkpoint).
     */
    public void finish(Predicate<String> tolerate) {
        List<String> all = new ArrayList<>(problems);
        for (Map.Entry<String, String> m : missing.entrySet()) {
            if (tolerate.test(m.getKey())) all.remove(m.getValue());
        }
        if (source != null) {
            Set<String> unexpected = new LinkedHashSet<>();
            for (String k : source.keys()) {
                if (used.containsKey(k)) continue;
                if (ignorable.stream().anyMatch(p -> p.test(k))) continue;
                unexpected.add(k);
            }
            for (String k : unexpected) {
                all.add("unexpected key " + k + " " + source.get(k).describe());
            }
        }
        if (!all.isEmpty()) throw new WeightMismatchException(sourceName(), all);
    }
}
