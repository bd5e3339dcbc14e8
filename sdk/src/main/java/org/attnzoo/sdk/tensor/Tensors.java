package org.attnzoo.sdk.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Element conversions between the dtypes of {@link DType}. */
public final class Tensors {
    private Tensors() {
    }

    /** IEEE half to float, exact. */
    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            // zero or subnormal: mant * 2^-24, exact in float
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** bfloat16 to float, exact. */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    public static float[] toFloats(DType dt, ByteBuffer raw, int n) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[n];
        switch (dt) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = halfToFloat(b.getShort(b.position() + 2 * i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = bf16ToFloat(b.getShort(b.position() + 2 * i));
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(b.position() + 8 * i);
            }
            default -> {
                long[] l = toLongs(dt, raw, n);
                for (int i = 0; i < n; i++) out[i] = l[i];
            }
        }
        return out;
    }

    public static double[] toDoubles(DType dt, ByteBuffer raw, int n) {
        double[] out = new double[n];
        if (dt == DType.F64) {
            raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
            return out;
        }
        float[] f = toFloats(dt, raw, n);
        for (int i = 0; i < n; i++) out[i] = f[i];
        return out;
    }

    public static long[] toLongs(DType dt, ByteBuffer raw, int n) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = b.position();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (dt) {
                case I64 -> b.getLong(p + 8 * i);
                case I32 -> b.getInt(p + 4 * i);
                case I16 -> b.getShort(p + 2 * i);
                case I8 -> b.get(p + i);
                case U8, BOOL -> b.get(p + i) & 0xff;
                default -> throw new IllegalArgumentException("not an integer dtype: " + dt);
            };
        }
        return out;
    }
}
