package org.attnzoo.sdk.tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A named tensor from a checkpoint, read lazily: the bytes are only touched when one of the
 * {@code to*} methods is called.
 */
public interface TensorData {

    DType dtype();

    long[] shape();

    /** Raw little-endian element bytes in row-major order (a read-only view where possible). */
    ByteBuffer rawBytes();

    default long numel() {
        long n = 1;
        for (long d : shape()) {
            n *= d;
        }
        return n;
    }

    /** The values as float32, upcasting F16/BF16 exactly and narrowing F64/integers. */
    default float[] toFloatArray() {
        return Tensors.toFloats(dtype(), rawBytes(), Math.toIntExact(numel()));
    }

    /** The values as float64 (exact for every floating dtype). */
    default double[] toDoubleArray() {
        return Tensors.toDoubles(dtype(), rawBytes(), Math.toIntExact(numel()));
    }

    /** The values as int64 (integer dtypes only). */
    default long[] toLongArray() {
        return Tensors.toLongs(dtype(), rawBytes(), Math.toIntExact(numel()));
    }

    default String describe() {
        return dtype() + Arrays.toString(shape());
    }
}
