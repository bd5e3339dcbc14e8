package org.attnzoo.sdk.runtime;

import java.util.Arrays;

/** A dense float32 array with its shape (row-major). */
public record NdArray(float[] data, long[] shape) {
    public NdArray {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements, data has " + data.length);
        }
    }

    public long size() {
        return data.length;
    }

    @Override
    public String toString() {
        return "NdArray" + Arrays.toString(shape);
    }
}
