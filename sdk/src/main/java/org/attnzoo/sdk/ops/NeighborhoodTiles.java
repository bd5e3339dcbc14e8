package org.attnzoo.sdk.ops;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Static tables for the tiled body of {@link NeighborhoodAttention}: the query tokens are cut into
 * {@code T} tiles of {@code tq} tokens, each tile meets one set of {@code U} key tokens (the union of
 * its queries' windows, see {@link NeighborhoodWindows}), and an additive table puts the relative
 * position bias where a key lies in a query's window and {@code -inf} everywhere else. One body,
 * three shapes of tables:
 * <ul>
 *   <li>tile size 1: every query against its own k keys (the per-query "gathered" form);</li>
 *   <li>tile = a whole dilation group: every query of the group against all of the group's keys
 *       (the "dense masked" form; with dilation 1, plain masked attention over the map);</li>
 *   <li>anything between: blocks of queries against their shared window of keys.</li>
 * </ul>
 * Tiles never mix dilation groups. A group whose length is not a multiple of the tile repeats its
 * last query (the repeat is computed and dropped: {@code outIndex} picks each token's first
 * occurrence); a tile whose key range is shorter than {@code U} (a short dilation group) repeats its
 * last key with {@code -inf}, so no key ever counts twice.
 *
 * @param tile      tile size per axis (in dilation-group positions)
 * @param tiles     {@code T}
 * @param tq        queries per tile
 * @param u         keys per tile
 * @param qIndex    {@code [T, tq]} flat query token of each tile slot
 * @param kvIndex   {@code [T, U]} flat key token of each key slot
 * @param biasIndex {@code [T, tq, U]} index into the bias table extended by one {@code -inf} column:
 *                  the tap ({@code 0..taps-1}) where the key is in the query's window, else {@code taps}
 * @param outIndex  {@code [N]} position in the flattened {@code [T·tq]} tile output of each token
 * @param taps      bias taps ({@code prod(2k-1)} with a bias table, else 1)
 */
public record NeighborhoodTiles(int[] spatial, int[] tile, int tiles, int tq, int u,
                                long[] qIndex, long[] kvIndex, long[] biasIndex, long[] outIndex, int taps) {

    /** One axis cut into chunks: query positions per chunk and key positions per chunk (with pad flags). */
    private record AxisTiles(int[][] queries, int[][] keys, boolean[][] keyPad) {
    }

    /** The tables for one signature with the given tile size per axis (group positions; clamped to the group length). */
    public static NeighborhoodTiles of(int[] spatial, int[] kernel, int[] dilation, boolean[] causal, boolean withRpb, int[] tile) {
        int n = spatial.length;
        NeighborhoodWindows.tables(spatial, kernel, dilation, causal, withRpb); // argument checks only
        AxisTiles[] axes = new AxisTiles[n];
        int[] usedTile = new int[n];
        for (int a = 0; a < n; a++) {
            usedTile[a] = Math.max(1, Math.min(tile[a], maxGroupLength(spatial[a], dilation[a])));
            axes[a] = axis(spatial[a], kernel[a], dilation[a], causal[a], usedTile[a]);
        }
        int tiles = 1, tq = 1, u = 1, tokens = 1, taps = 1;
        for (int a = 0; a < n; a++) {
            tiles *= axes[a].queries.length;
            tq *= axes[a].queries[0].length;
            u *= axes[a].keys[0].length;
            tokens *= spatial[a];
            taps *= 2 * kernel[a] - 1;
        }
        if (!withRpb) taps = 1;
        long[] qi = new long[tiles * tq];
        long[] ki = new long[tiles * u];
        long[] bi = new long[(long) tiles * tq * u > Integer.MAX_VALUE ? fail(tiles, tq, u) : tiles * tq * u];
        long[] out = new long[tokens];
        Arrays.fill(out, -1);
        int[] chunk = new int[n];
        int[] qpos = new int[n], kpos = new int[n];
        int[][] windows = new int[n][];
        for (int t = 0; t < tiles; t++) {
            for (int a = n - 1, r = t; a >= 0; a--) {
                chunk[a] = r % axes[a].queries.length;
                r /= axes[a].queries.length;
            }
            for (int s = 0; s < u; s++) {
                int flat = 0;
                for (int a = n - 1, r = s, stride = 1; a >= 0; a--) {
                    int[] keys = axes[a].keys[chunk[a]];
                    flat += keys[r % keys.length] * stride;
                    r /= keys.length;
                    stride *= spatial[a];
                }
                ki[t * u + s] = flat;
            }
            for (int qs = 0; qs < tq; qs++) {
                int flatQ = 0;
                for (int a = n - 1, r = qs, stride = 1; a >= 0; a--) {
                    int[] qs_ = axes[a].queries[chunk[a]];
                    qpos[a] = qs_[r % qs_.length];
                    r /= qs_.length;
                    flatQ += qpos[a] * stride;
                    stride *= spatial[a];
                }
                qi[t * tq + qs] = flatQ;
                if (out[flatQ] < 0) out[flatQ] = (long) t * tq + qs;
                for (int a = 0; a < n; a++) windows[a] = NeighborhoodWindows.axisWindow(spatial[a], kernel[a], dilation[a], causal[a], qpos[a]);
                for (int s = 0; s < u; s++) {
                    boolean in = true;
                    int tap = 0;
                    for (int a = n - 1, r = s, tstride = 1; a >= 0; a--) {
                        int[] keys = axes[a].keys[chunk[a]];
                        int slot = r % keys.length;
                        r /= keys.length;
                        kpos[a] = keys[slot];
                        if (axes[a].keyPad[chunk[a]][slot] || Arrays.binarySearch(windows[a], kpos[a]) < 0) {
                            in = false;
                        } else {
                            tap += NeighborhoodWindows.rpbTap(kpos[a], qpos[a], kernel[a], dilation[a]) * tstride;
                        }
                        tstride *= 2 * kernel[a] - 1;
                    }
                    bi[(t * tq + qs) * u + s] = in ? (withRpb ? tap : 0) : taps;
                }
            }
        }
        for (int i = 0; i < tokens; i++) {
            if (out[i] < 0) throw new IllegalStateException("token " + i + " in no tile");
        }
        return new NeighborhoodTiles(spatial.clone(), usedTile, tiles, tq, u, qi, ki, bi, out, taps);
    }

    private static int fail(int tiles, int tq, int u) {
        throw new IllegalArgumentException("neighbourhood tiles: " + tiles + " tiles × " + tq + " queries × " + u + " keys is too large a table");
    }

    static int maxGroupLength(int length, int dilation) {
        return (length + dilation - 1) / dilation;
    }

    /** Per-axis chunks: for every dilation group, consecutive runs of {@code t} group positions. */
    private static AxisTiles axis(int length, int kernel, int dilation, boolean causal, int t) {
        List<int[]> qs = new ArrayList<>();
        List<int[]> lo = new ArrayList<>(); // per chunk: group, lowest key group position, highest
        int span = 0;
        for (int g = 0; g < dilation; g++) {
            int lg = length / dilation + (g < length % dilation ? 1 : 0);
            for (int start = 0; start < lg; start += t) {
                int[] q = new int[t];
                int min = Integer.MAX_VALUE, max = Integer.MIN_VALUE;
                for (int j = 0; j < t; j++) {
                    int gp = Math.min(start + j, lg - 1);
                    q[j] = gp * dilation + g;
                    int[] w = NeighborhoodWindows.axisWindow(length, kernel, dilation, causal, q[j]);
                    min = Math.min(min, w[0] / dilation);
                    max = Math.max(max, w[w.length - 1] / dilation);
                }
                qs.add(q);
                lo.add(new int[]{g, min, max, lg});
                span = Math.max(span, max - min + 1);
            }
        }
        int[][] keys = new int[qs.size()][span];
        boolean[][] pad = new boolean[qs.size()][span];
        for (int c = 0; c < qs.size(); c++) {
            int g = lo.get(c)[0], min = lo.get(c)[1], lg = lo.get(c)[3];
            int first = Math.max(0, Math.min(min, lg - span)); // widen inside the group where it can
            for (int j = 0; j < span; j++) {
                int gp = first + j;
                if (gp >= lg) {
                    gp = lg - 1;
                    pad[c][j] = true;
                }
                keys[c][j] = gp * dilation + g;
            }
        }
        return new AxisTiles(qs.toArray(new int[0][]), keys, pad);
    }

    /**
     * The tile size for a signature (the same on every axis, clamped to each axis' dilation group),
     * chosen by a cost model of this body on ONNX Runtime's CPU kernels: per head,
     * {@code 1.03e-6·T·tq·U} for the score-sized work (both MatMuls, the mask Add, Softmax) plus
     * {@code 6.59e-7·T·U·D} for the key/value rows gathered (ms), fitted to interleaved timings of
     * every tile size (1 to 32 and the whole group) on maps of 7² to 56², dilations 1, 2 and 4,
     * head_dim 32, two intra-op threads, ONNX Runtime 1.22 Java with spinning off
     * ({@code NeighborhoodAttentionBench --grid}; docs/benchmarks.md). On that grid it picks within
     * 6 % of the fastest size everywhere; on the grid of an earlier fit (a Xeon, ONNX Runtime 1.30)
     * its picks are the fastest measured sizes.
     * Candidates: every size from 1 (per-query gathers) to 32 and the whole group (dense masked).
     */
    public static int[] choose(int[] spatial, int[] kernel, int[] dilation, boolean[] causal, int headDim) {
        int n = spatial.length;
        int maxLg = 1;
        for (int a = 0; a < n; a++) maxLg = Math.max(maxLg, maxGroupLength(spatial[a], dilation[a]));
        int bestT = 1;
        double bestCost = Double.MAX_VALUE;
        for (int t = 1; t <= maxLg; t++) {
            if (t > 32 && t != maxLg) continue;
            double tiles = 1, tq = 1, u = 1;
            for (int a = 0; a < n; a++) {
                int ta = Math.min(t, maxGroupLength(spatial[a], dilation[a]));
                int[] cs = chunksAndSpan(spatial[a], kernel[a], dilation[a], causal[a], ta);
                tiles *= cs[0];
                tq *= ta;
                u *= cs[1];
            }
            double cost = 1.03e-6 * tiles * tq * u + 6.59e-7 * tiles * u * headDim;
            if (cost < bestCost * (1 - 1e-9)) {
                bestCost = cost;
                bestT = t;
            }
        }
        int[] out = new int[n];
        for (int a = 0; a < n; a++) out[a] = Math.min(bestT, maxGroupLength(spatial[a], dilation[a]));
        return out;
    }

    /** {number of chunks, key span} of one axis cut into tiles of {@code t} group positions. */
    public static int[] chunksAndSpan(int length, int kernel, int dilation, boolean causal, int t) {
        AxisTiles at = axis(length, kernel, dilation, causal, t);
        return new int[]{at.queries.length, at.keys[0].length};
    }
}
