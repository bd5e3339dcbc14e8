package org.attnzoo.converters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/** Small helpers around {@link StateDict}. */
public final class StateDicts {
    private StateDicts() {
    }

    /** An in-memory state dict over {@code tensors} (in the map's order); closing it does nothing. */
    public static StateDict of(String source, Map<String, ? extends TensorData> tensors) {
        Map<String, TensorData> copy = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        return new StateDict() {
            @Override
            public Set<String> keys() {
                return copy.keySet();
            }

            @Override
            public TensorData get(String key) {
                return copy.get(key);
            }

            @Override
            public String source() {
                return source;
            }

            @Override
            public String toString() {
                return "StateDict[" + source + ", " + copy.size() + " tensors]";
            }
        };
    }

    /** The tensors of {@code dict} as an ordered map (the tensors themselves stay lazy). */
    public static Map<String, TensorData> toMap(StateDict dict) {
        Map<String, TensorData> m = new LinkedHashMap<>();
        for (String k : dict.keys()) m.put(k, dict.get(k));
        return m;
    }

    /**
     * A view of {@code dict} in which float16 and bfloat16 tensors read as float32 (exactly: every
     * half and bfloat16 value is a float). Other tensors are passed through. Closing the view
     * closes {@code dict}.
     */
    public static StateDict upcast(StateDict dict) {
        Map<String, TensorData> m = new LinkedHashMap<>();
        for (String k : dict.keys()) {
            TensorData t = dict.get(k);
            m.put(k, t.dtype() == DType.F16 || t.dtype() == DType.BF16 ? TensorViews.toFloat32(t) : t);
        }
        Map<String, TensorData> view = Collections.unmodifiableMap(m);
        return new StateDict() {
            @Override
            public Set<String> keys() {
                return view.keySet();
            }

            @Override
            public TensorData get(String key) {
                return view.get(key);
            }

            @Override
            public String source() {
                return dict.source();
            }

            @Override
            public void close() {
                dict.close();
            }
        };
    }

    static ByteBuffer floatsToBytes(float[] f) {
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b;
    }
}
