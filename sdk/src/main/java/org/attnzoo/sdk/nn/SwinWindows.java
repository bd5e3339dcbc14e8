package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/**
 * Swin's shifted-window pieces, shared by the families built on Swin stages (InLine-Swin, FAN-Swin):
 * the cyclic shift, the shifted-window mask, window attention with a relative-position bias table,
 * and patch merging. Weight names follow Swin's modules ({@code relative_position_bias_table},
 * {@code reduction}, {@code norm}).
 */
public final class SwinWindows {
    private SwinWindows() {
    }

    /** {@code torch.roll} along one axis: the last {@code shift} (mod size) elements first. */
    public static Value roll(Graph g, Value x, int axis, int shift) {
        long size = x.dim(axis);
        long s = ((shift % size) + size) % size;
        if (s == 0) return x;
        Value[] parts = g.split(x, axis, size - s, s);
        return g.concat(axis, parts[1], parts[0]);
    }

    /** Swin's attention mask for shifted windows: 0 within a region, −100 across regions; {@code [nW, n, n]}. */
    public static float[] shiftMask(int h, int w, int ws, int shift) {
        int[] region = new int[h * w];
        int[] hb = {0, h - ws, h - shift, h}, wb = {0, w - ws, w - shift, w};
        int cnt = 0;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                for (int y = hb[a]; y < hb[a + 1]; y++) for (int x = wb[b]; x < wb[b + 1]; x++) region[y * w + x] = cnt;
                cnt++;
            }
        int nh = h / ws, nw = w / ws, n = ws * ws;
        float[] m = new float[nh * nw * n * n];
        for (int wy = 0; wy < nh; wy++)
            for (int wx = 0; wx < nw; wx++) {
                int widx = wy * nw + wx;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++) {
                        int ri = region[(wy * ws + i / ws) * w + wx * ws + i % ws], rj = region[(wy * ws + j / ws) * w + wx * ws + j % ws];
                        m[(widx * n + i) * n + j] = ri == rj ? 0f : -100f;
                    }
            }
        return m;
    }

    /**
     * Window attention with the relative-position bias table of scope {@code s} (and the shift mask
     * when not null): q, k, v {@code [B·nW, heads, n, hd]}; returns {@code [B·nW, n, c]}.
     */
    public static Value windowAttention(Scope s, Value q, Value k, Value v, int heads, int ws, float[] mask, long nW, int c) {
        Graph g = s.graph();
        int n = ws * ws, r = 2 * ws - 1, hd = c / heads;
        float[] table = s.floats("relative_position_bias_table", (long) r * r, heads);
        float[] bias = new float[heads * n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int idx = (i / ws - j / ws + ws - 1) * r + (i % ws - j % ws + ws - 1);
                for (int hh = 0; hh < heads; hh++) bias[(hh * n + i) * n + j] = table[idx * heads + hh];
            }
        Value logits = g.add(g.matMul(g.mul(q, (float) Math.pow(hd, -0.5)), g.transpose(k, 0, 1, 3, 2)),
                s.derived("relative_position_bias", "relative_position_bias_table[relative_position_index], [heads, n, n]", bias, heads, n, n));
        if (mask != null) {
            Value l5 = g.reshape(logits, -1, nW, heads, n, n);
            logits = g.reshape(g.add(l5, g.constant("shift_mask", mask, nW, 1, n, n)), -1, heads, n, n);
        }
        Value o = g.matMul(g.softmax(logits, -1), v);
        return g.reshape(g.transpose(o, 0, 2, 1, 3), -1, n, c);
    }

    /** PatchMerging: 2×2 neighbours concatenated (x0, x1, x2, x3 order), LayerNorm, Linear 4C → 2C without bias. */
    public static Value patchMerging(Scope s, Value x, int h, int w, int c, float eps) {
        Graph g = s.graph();
        Value m = g.reshape(g.transpose(g.reshape(x, -1, h / 2, 2, w / 2, 2, c), 0, 1, 3, 4, 2, 5), -1, (long) (h / 2) * (w / 2), 4L * c);
        return Linear.apply(s.scope("reduction"), LayerNorm.apply(s.scope("norm"), m, 4L * c, eps), 4L * c, 2L * c, false);
    }
}
