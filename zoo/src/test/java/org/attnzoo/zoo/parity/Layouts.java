package org.attnzoo.zoo.parity;

import org.attnzoo.converters.Checkpoints;
import org.attnzoo.converters.SafetensorsWriter;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Checkpoint layouts users hold, made from a parity fixture's weights: the same tensors with keys
 * dropped, renamed or added (a {@code module.} prefix, a buffer the authors' model registers, a
 * head their training script leaves out), written to a new safetensors file.
 */
final class Layouts {
    private Layouts() {
    }

    /** The fixture's weights.safetensors, edited by {@code edit} (a mutable, ordered key map), written to {@code dst}. */
    static Path rewrite(String fixture, Path dst, Consumer<Map<String, TensorData>> edit) {
        Map<String, TensorData> m = new LinkedHashMap<>();
        try (StateDict sd = Checkpoints.open(ParityFixture.dir(fixture).resolve("weights.safetensors"))) {
            for (String k : sd.keys()) {
                TensorData t = sd.get(k);
                m.put(k, new FloatTensor(t.shape(), t.toFloatArray()));
            }
        }
        edit.accept(m);
        SafetensorsWriter.write(dst, m);
        return dst;
    }

    /** Every key with {@code prefix} put in front (DataParallel's {@code module.}, ...). */
    static Consumer<Map<String, TensorData>> prefixed(String prefix) {
        return m -> {
            Map<String, TensorData> p = new LinkedHashMap<>();
            m.forEach((k, v) -> p.put(prefix + k, v));
            m.clear();
            m.putAll(p);
        };
    }

    /** A tensor of {@code shape} filled with 0, 1, 2, ... (stands for an index buffer or a count). */
    static TensorData counting(long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] f = new float[Math.toIntExact(n)];
        for (int i = 0; i < f.length; i++) f[i] = i;
        return new FloatTensor(shape, f);
    }
}
