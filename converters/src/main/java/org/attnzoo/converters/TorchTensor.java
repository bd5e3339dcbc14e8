package org.attnzoo.converters;

import java.lang.ref.SoftReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * A tensor of a torch zip checkpoint: a view (offset, size, stride, in elements) into a storage.
 * Bytes are read from the archive when first asked for; a non-contiguous view is gathered into
 * row-major order. Several tensors may share one storage.
 */
final class TorchTensor implements TensorData {
    final TorchStorage storage;
    final long storageOffset;
    private final long[] shape;
    private final long[] stride;
    /** The name this tensor was found under, for messages; set by whoever names it. */
    private volatile String key;
    private volatile SoftReference<ByteBuffer> cache;

    TorchTensor(TorchStorage storage, long storageOffset, long[] shape, long[] stride) {
        this.storage = storage;
        this.storageOffset = storageOffset;
        this.shape = shape;
        this.stride = stride;
    }

    void name(String key) {
        if (this.key == null) this.key = key;
    }

    @Override
    public DType dtype() {
        return storage.dtype;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    long[] stride() {
        return stride.clone();
    }

    /** True when the view is row-major with no gaps (dimensions of size 1 may have any stride). */
    boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 0) return true;
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** Elements of the view; the product is checked when the tensor is built, so it cannot overflow. */
    @Override
    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Checks the storage entry and that the view lies inside it; throws a message naming {@code key}. */
    void validate(String key) {
        String src = storage.reader.source();
        String problem = storage.problem();
        if (problem != null) throw new CheckpointException(src, key, problem, null);
        long n = numel();
        if (n == 0) return;
        long last = storageOffset;
        try {
            for (int i = 0; i < shape.length; i++) {
                last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
            }
        } catch (ArithmeticException e) {
            last = Long.MAX_VALUE;
        }
        if (last >= storage.numel) {
            throw CheckpointException.mismatch(src, key, "view (offset " + storageOffset + ", size "
                            + Arrays.toString(shape) + ", stride " + Arrays.toString(stride) + ") runs past its storage '"
                            + storage.entryName + "'", "a storage of at least " + (last + 1) + " elements",
                    storage.numel + " elements");
        }
        if (n > Integer.MAX_VALUE / storage.dtype.size) {
            throw CheckpointException.mismatch(src, key, "tensor too large for one buffer",
                    "at most " + Integer.MAX_VALUE + " bytes", n + " elements of " + storage.dtype.size + " bytes");
        }
    }

    @Override
    public ByteBuffer rawBytes() {
        SoftReference<ByteBuffer> ref = cache;
        ByteBuffer b = ref == null ? null : ref.get();
        if (b == null) {
            b = read();
            cache = new SoftReference<>(b);
        }
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer read() {
        String k = key;
        validate(k);
        long n = numel();
        int es = storage.dtype.size;
        if (n == 0) return ByteBuffer.allocate(0).asReadOnlyBuffer();
        if (isContiguous()) {
            byte[] bytes = storage.reader.readStorage(storage, storageOffset * es, (int) (n * es), k);
            return ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        }
        long last = storageOffset;
        for (int i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
        long spanElems = last - storageOffset + 1;
        if (spanElems * es > Integer.MAX_VALUE) {
            throw CheckpointException.mismatch(storage.reader.source(), k, "non-contiguous view spans too much storage",
                    "at most " + Integer.MAX_VALUE + " bytes", (spanElems * es) + " bytes");
        }
        byte[] span = storage.reader.readStorage(storage, storageOffset * es, (int) (spanElems * es), k);
        byte[] out = new byte[(int) (n * es)];
        int rank = shape.length;
        long[] idx = new long[rank];
        int o = 0;
        long inner = shape[rank - 1];
        long innerStride = stride[rank - 1];
        while (true) {
            long base = 0;
            for (int d = 0; d < rank - 1; d++) base += idx[d] * stride[d];
            for (long j = 0; j < inner; j++) {
                System.arraycopy(span, (int) ((base + j * innerStride) * es), out, o, es);
                o += es;
            }
            int d = rank - 2;
            while (d >= 0) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
                d--;
            }
            if (d < 0) break;
        }
        return ByteBuffer.wrap(out).asReadOnlyBuffer();
    }

    @Override
    public String toString() {
        return "TorchTensor[" + describe() + " in " + storage.entryName + "]";
    }
}
