package org.attnzoo.sdk.graph;

import java.util.Arrays;

/**
 * Static shapes with one symbolic size. A dimension is a non-negative size, or {@link #DYN}: a size
 * only known at run time (the batch, or a product involving it). Shape rules check every static
 * dimension and carry DYN through.
 */
public final class Shapes {
    /** A dimension known only at run time (printed as {@code N}). */
    public static final long DYN = -1;

    private Shapes() {
    }

    public static String str(long[] s) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) {
            if (i > 0) b.append(", ");
            b.append(s[i] == DYN ? "N" : Long.toString(s[i]));
        }
        return b.append(']').toString();
    }

    public static boolean isStatic(long[] s) {
        for (long d : s) if (d == DYN) return false;
        return true;
    }

    /** Product of the static dimensions. */
    public static long staticNumel(long[] s) {
        long n = 1;
        for (long d : s) if (d != DYN) n *= d;
        return n;
    }

    public static long numel(long[] s) {
        if (!isStatic(s)) throw new IllegalArgumentException("shape " + str(s) + " is not static");
        return staticNumel(s);
    }

    public static int axis(int axis, int rank, String op) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new ShapeException(op + ": axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }

    /** NumPy broadcasting of two shapes. */
    public static long[] broadcast(String op, long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            int ia = i - (r - a.length), ib = i - (r - b.length);
            long da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
            if (da == db) out[i] = da;
            else if (da == 1) out[i] = db;
            else if (db == 1) out[i] = da;
            else if (da == DYN) out[i] = db;
            else if (db == DYN) out[i] = da;
            else throw new ShapeException(op + ": shapes " + str(a) + " and " + str(b) + " do not broadcast");
        }
        return out;
    }

    public static long[] of(long... dims) {
        return dims.clone();
    }

    public static boolean equal(long[] a, long[] b) {
        return Arrays.equals(a, b);
    }
}
