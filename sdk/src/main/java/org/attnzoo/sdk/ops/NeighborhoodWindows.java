package org.attnzoo.sdk.ops;

import java.util.Arrays;

/**
 * NATTEN's neighbourhood rules, per spatial axis (an n-D window is the product of the 1-D ones),
 * and the static index tables the ONNX function body of {@link NeighborhoodAttention} gathers with.
 *
 * <p>Axis of length {@code L}, kernel {@code k}, dilation {@code d}; left extent {@code a = k/2},
 * right extent {@code k-1-a} (equal for odd k). Query {@code i} lies in dilation group
 * {@code g = i mod d} at group position {@code i' = i div d}; the group holds
 * {@code L_g = L div d + (g < L mod d ? 1 : 0)} tokens.
 * <ul>
 *   <li>non-causal: window centre {@code c = clamp(i', a, L_g-1-(k-1-a))}, keys
 *       {@code (c-a+j)·d + g} for {@code j = 0..k-1} — shifted inward at borders, always k keys;</li>
 *   <li>causal: keys {@code j'·d + g} for {@code j' = max(i'-k+1, 0) .. i'} — the window shrinks at
 *       the start (fewer than k keys) and is never shifted;</li>
 *   <li>relative-position-bias tap of key {@code j} for query {@code i}: {@code (j-i)/d + k - 1}
 *       (in {@code 0..2k-2}).</li>
 * </ul>
 * All of them need {@code k·d <= L} (NATTEN refuses smaller axes; its ≤0.14 module padded the input
 * instead, which a model must do itself before calling the op).
 */
public final class NeighborhoodWindows {
    private NeighborhoodWindows() {
    }

    /** Checks one axis' arguments; {@code what} names the axis in the message. */
    public static void check(int length, int kernel, int dilation, String what) {
        if (kernel < 1 || dilation < 1) {
            throw new IllegalArgumentException(what + ": kernel " + kernel + " and dilation " + dilation + " must be >= 1");
        }
        if ((long) kernel * dilation > length) {
            throw new IllegalArgumentException(what + ": kernel·dilation = " + kernel + "·" + dilation + " = " + (long) kernel * dilation
                    + " exceeds the axis length " + length + " (pad the input first)");
        }
    }

    /** The key positions query {@code i} attends to on one axis, ascending. */
    public static int[] axisWindow(int length, int kernel, int dilation, boolean causal, int i) {
        int g = i % dilation;
        int ip = i / dilation;
        int lg = length / dilation + (g < length % dilation ? 1 : 0);
        if (causal) {
            int start = Math.max(ip - kernel + 1, 0);
            int[] keys = new int[ip - start + 1];
            for (int j = 0; j < keys.length; j++) keys[j] = (start + j) * dilation + g;
            return keys;
        }
        int left = kernel / 2, right = kernel - 1 - left;
        int centre = Math.max(left, Math.min(ip, lg - 1 - right));
        int[] keys = new int[kernel];
        for (int j = 0; j < kernel; j++) keys[j] = (centre - left + j) * dilation + g;
        return keys;
    }

    /** The relative-position-bias tap on one axis, {@code (key - query)/d + k - 1}. */
    public static int rpbTap(int key, int query, int kernel, int dilation) {
        return (key - query) / dilation + kernel - 1;
    }

    /**
     * Static tables for one signature: for every query token (row-major over the spatial axes) and
     * window slot (row-major over the per-axis kernel offsets), the flat key token index and the
     * flat bias index. A slot a causal window does not fill points at the query itself with bias
     * index {@code taps} (the function body appends a -inf column there).
     *
     * @param taps number of bias taps: {@code prod(2k-1)} with a bias table, else 1 (every filled
     *             slot then uses tap 0 of a zero table)
     */
    public record Tables(int[] spatial, int tokens, int window, long[] neighbors, long[] biasIndex, int taps) {
    }

    public static Tables tables(int[] spatial, int[] kernel, int[] dilation, boolean[] causal, boolean withRpb) {
        int n = spatial.length;
        if (kernel.length != n || dilation.length != n || causal.length != n) {
            throw new IllegalArgumentException("kernel " + Arrays.toString(kernel) + ", dilation " + Arrays.toString(dilation)
                    + " and causal " + Arrays.toString(causal) + " must have one entry per spatial axis of " + Arrays.toString(spatial));
        }
        int tokens = 1, window = 1, taps = 1;
        for (int a = 0; a < n; a++) {
            check(spatial[a], kernel[a], dilation[a], "axis " + a);
            tokens *= spatial[a];
            window *= kernel[a];
            taps *= 2 * kernel[a] - 1;
        }
        if (!withRpb) taps = 1;
        long[] nb = new long[tokens * window];
        long[] bi = new long[tokens * window];
        int[] qpos = new int[n];
        int[][] keys = new int[n][];
        for (int q = 0; q < tokens; q++) {
            for (int a = n - 1, r = q; a >= 0; a--) {
                qpos[a] = r % spatial[a];
                r /= spatial[a];
            }
            for (int a = 0; a < n; a++) keys[a] = axisWindow(spatial[a], kernel[a], dilation[a], causal[a], qpos[a]);
            for (int s = 0; s < window; s++) {
                int flat = 0, tap = 0;
                boolean present = true;
                for (int a = n - 1, r = s, stride = 1, tstride = 1; a >= 0; a--) {
                    int j = r % kernel[a];
                    r /= kernel[a];
                    if (j >= keys[a].length) {
                        present = false;
                    } else {
                        flat += keys[a][j] * stride;
                        tap += rpbTap(keys[a][j], qpos[a], kernel[a], dilation[a]) * tstride;
                    }
                    stride *= spatial[a];
                    tstride *= 2 * kernel[a] - 1;
                }
                int at = q * window + s;
                nb[at] = present ? flat : q;
                bi[at] = present ? (withRpb ? tap : 0) : taps;
            }
        }
        return new Tables(spatial.clone(), tokens, window, nb, bi, taps);
    }
}
