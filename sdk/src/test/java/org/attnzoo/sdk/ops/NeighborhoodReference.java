package org.attnzoo.sdk.ops;

/**
 * Brute-force neighbourhood attention in double precision, written straight from NATTEN's rules
 * (seeds-b §30.2) and independent of {@link NeighborhoodWindows}: the window start uses the
 * closed-form start formula rather than the centre clamp, and the group length is counted as
 * {@code ceil((L - g) / d)}.
 */
final class NeighborhoodReference {
    private NeighborhoodReference() {
    }

    /** Keys of query i on one axis: start formula (non-causal) or the shrinking causal window. */
    static int[] window(int length, int k, int d, boolean causal, int i) {
        int g = i % d, ip = i / d;
        int lg = (length - g + d - 1) / d;
        int start, count;
        if (causal) {
            start = Math.max(0, ip - k + 1);
            count = ip - start + 1;
        } else {
            int left = k / 2, right = k - 1 - left;
            start = Math.max(ip - left, 0) + (ip + right >= lg ? lg - ip - right - 1 : 0);
            count = k;
        }
        int[] keys = new int[count];
        for (int j = 0; j < count; j++) keys[j] = (start + j) * d + g;
        return keys;
    }

    /**
     * q, k, v {@code [B, H, *spatial, D]} row-major; rpb {@code [H, 2k-1, ...]} or null.
     * Returns the output in the same layout.
     */
    static double[] attend(float[] q, float[] k, float[] v, float[] rpb, int b, int h, int[] spatial, int dim,
                           int[] kernel, int[] dilation, boolean[] causal, double scale) {
        int n = spatial.length;
        int tokens = 1;
        for (int s : spatial) tokens *= s;
        int taps = 1;
        for (int kk : kernel) taps *= 2 * kk - 1;
        double[] out = new double[b * h * tokens * dim];
        int[] pos = new int[n];
        int[][] keys = new int[n][];
        for (int bh = 0; bh < b * h; bh++) {
            int head = bh % h;
            for (int t = 0; t < tokens; t++) {
                for (int a = n - 1, r = t; a >= 0; a--) {
                    pos[a] = r % spatial[a];
                    r /= spatial[a];
                }
                int count = 1;
                for (int a = 0; a < n; a++) {
                    keys[a] = window(spatial[a], kernel[a], dilation[a], causal[a], pos[a]);
                    count *= keys[a].length;
                }
                double[] logit = new double[count];
                int[] flatKey = new int[count];
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < count; c++) {
                    int flat = 0, tap = 0;
                    for (int a = 0, r = c, div = count; a < n; a++) {
                        div /= keys[a].length;
                        int j = r / div;
                        r %= div;
                        int key = keys[a][j];
                        flat = flat * spatial[a] + key;
                        tap = tap * (2 * kernel[a] - 1) + (key - pos[a]) / dilation[a] + kernel[a] - 1;
                    }
                    flatKey[c] = flat;
                    double dot = 0;
                    int qo = (bh * tokens + t) * dim, ko = (bh * tokens + flat) * dim;
                    for (int e = 0; e < dim; e++) dot += (double) q[qo + e] * k[ko + e];
                    logit[c] = dot * scale + (rpb == null ? 0 : rpb[head * taps + tap]);
                    max = Math.max(max, logit[c]);
                }
                double sum = 0;
                for (int c = 0; c < count; c++) {
                    logit[c] = Math.exp(logit[c] - max);
                    sum += logit[c];
                }
                int oo = (bh * tokens + t) * dim;
                for (int c = 0; c < count; c++) {
                    int vo = (bh * tokens + flatKey[c]) * dim;
                    for (int e = 0; e < dim; e++) out[oo + e] += logit[c] / sum * v[vo + e];
                }
            }
        }
        return out;
    }
}
