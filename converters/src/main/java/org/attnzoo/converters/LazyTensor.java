package org.attnzoo.converters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * A {@link TensorData} whose bytes come from a supplier, called each time {@link #rawBytes()} is
 * (the supplier does its own caching if it wants any). Used for views built by {@link TensorViews}
 * and by key-map transforms, so that nothing is read before a tensor is actually needed.
 */
public final class LazyTensor implements TensorData {
    private final DType dtype;
    private final long[] shape;
    private final Supplier<ByteBuffer> bytes;

    public LazyTensor(DType dtype, long[] shape, Supplier<ByteBuffer> bytes) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        for (long d : this.shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
        }
        this.bytes = Objects.requireNonNull(bytes, "bytes");
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public ByteBuffer rawBytes() {
        ByteBuffer b = bytes.get();
        long expected = numel() * dtype.size;
        if (b.remaining() != expected) {
            throw new IllegalStateException("lazy tensor " + describe() + " produced " + b.remaining()
                    + " bytes, expected " + expected);
        }
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public String toString() {
        return "LazyTensor[" + describe() + "]";
    }
}
