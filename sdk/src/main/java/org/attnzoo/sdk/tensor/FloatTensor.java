package org.attnzoo.sdk.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** An in-memory float32 tensor (used for derived weights and tests). */
public record FloatTensor(long[] shape, float[] data) implements TensorData {

    public FloatTensor {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) {
            throw new IllegalArgumentException("shape has " + n + " elements but data has " + data.length);
        }
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public ByteBuffer rawBytes() {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        return b.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public float[] toFloatArray() {
        return data.clone();
    }
}
