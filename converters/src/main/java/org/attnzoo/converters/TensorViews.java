package org.attnzoo.converters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * Lazy tensor views for key-map transforms: nothing is read until the result's bytes are asked
 * for. Shapes and arguments are checked eagerly, with {@link IllegalArgumentException}.
 */
public final class TensorViews {
    private TensorViews() {
    }

    /** The same elements under a new shape; one dimension may be -1 (inferred). */
    public static TensorData reshape(TensorData t, long... shape) {
        long[] s = shape.clone();
        long n = t.numel();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one dimension can be -1: " + Arrays.toString(shape));
                infer = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + t.describe() + " to " + Arrays.toString(shape));
            }
            s[infer] = n / known;
        }
        long m = 1;
        for (long d : s) m *= d;
        if (m != n) throw new IllegalArgumentException("cannot reshape " + t.describe() + " to " + Arrays.toString(shape));
        return new LazyTensor(t.dtype(), s, t::rawBytes);
    }

    /** Elements {@code start .. start+length-1} along {@code dim} (like {@code torch.narrow}). */
    public static TensorData narrow(TensorData t, int dim, long start, long length) {
        long[] shape = t.shape();
        checkDim(t, dim);
        if (start < 0 || length < 0 || start + length > shape[dim]) {
            throw new IllegalArgumentException("narrow(" + dim + ", " + start + ", " + length + ") out of range for "
                    + t.describe());
        }
        long outer = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        long inner = t.dtype().size;
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        long[] out = shape.clone();
        out[dim] = length;
        long full = shape[dim];
        long blockIn = full * inner;
        long blockOut = length * inner;
        long o0 = outer;
        long in0 = inner;
        return new LazyTensor(t.dtype(), out, () -> {
            ByteBuffer src = t.rawBytes().order(ByteOrder.LITTLE_ENDIAN);
            int base = src.position();
            if (o0 == 1) {
                return src.slice(base + (int) (start * in0), (int) blockOut).order(ByteOrder.LITTLE_ENDIAN);
            }
            byte[] dst = new byte[Math.toIntExact(o0 * blockOut)];
            for (long i = 0; i < o0; i++) {
                src.get((int) (base + i * blockIn + start * in0), dst, (int) (i * blockOut), (int) blockOut);
            }
            return ByteBuffer.wrap(dst).order(ByteOrder.LITTLE_ENDIAN);
        });
    }

    /**
     * Splits {@code t} along {@code dim} like {@code torch.chunk}: pieces of
     * {@code ceil(size / chunks)} elements, the last one possibly smaller.
     */
    public static List<TensorData> chunk(TensorData t, int chunks, int dim) {
        checkDim(t, dim);
        if (chunks <= 0) throw new IllegalArgumentException("chunks must be positive: " + chunks);
        long size = t.shape()[dim];
        long step = (size + chunks - 1) / chunks;
        List<TensorData> out = new ArrayList<>();
        if (step == 0) {
            out.add(t);
            return out;
        }
        for (long s = 0; s < size; s += step) out.add(narrow(t, dim, s, Math.min(step, size - s)));
        return out;
    }

    /** Dimensions reordered: result dimension i is input dimension {@code dims[i]} (like {@code torch.permute}). */
    public static TensorData permute(TensorData t, int... dims) {
        long[] shape = t.shape();
        int rank = shape.length;
        if (dims.length != rank) throw new IllegalArgumentException("permute" + Arrays.toString(dims) + " of " + t.describe());
        boolean[] seen = new boolean[rank];
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            if (dims[i] < 0 || dims[i] >= rank || seen[dims[i]]) {
                throw new IllegalArgumentException("permute" + Arrays.toString(dims) + " of " + t.describe());
            }
            seen[dims[i]] = true;
            out[i] = shape[dims[i]];
        }
        int[] p = dims.clone();
        return new LazyTensor(t.dtype(), out, () -> {
            int es = t.dtype().size;
            ByteBuffer src = t.rawBytes();
            int base = src.position();
            long[] inStride = new long[rank];
            long acc = 1;
            for (int i = rank - 1; i >= 0; i--) {
                inStride[i] = acc;
                acc *= shape[i];
            }
            long[] stride = new long[rank];
            for (int i = 0; i < rank; i++) stride[i] = inStride[p[i]];
            long n = t.numel();
            byte[] dst = new byte[Math.toIntExact(n * es)];
            long[] idx = new long[rank];
            byte[] one = new byte[es];
            for (long j = 0; j < n; j++) {
                long off = 0;
                for (int d = 0; d < rank; d++) off += idx[d] * stride[d];
                src.get((int) (base + off * es), one);
                System.arraycopy(one, 0, dst, (int) (j * es), es);
                for (int d = rank - 1; d >= 0; d--) {
                    if (++idx[d] < out[d]) break;
                    idx[d] = 0;
                }
            }
            return ByteBuffer.wrap(dst).order(ByteOrder.LITTLE_ENDIAN);
        });
    }

    /** {@code t} as float32: itself when it already is, else a lazy conversion via {@link TensorData#toFloatArray()}. */
    public static TensorData toFloat32(TensorData t) {
        if (t.dtype() == DType.F32) return t;
        return new LazyTensor(DType.F32, t.shape(), () -> StateDicts.floatsToBytes(t.toFloatArray()));
    }

    private static void checkDim(TensorData t, int dim) {
        if (dim < 0 || dim >= t.shape().length) {
            throw new IllegalArgumentException("dimension " + dim + " out of range for " + t.describe());
        }
    }
}
