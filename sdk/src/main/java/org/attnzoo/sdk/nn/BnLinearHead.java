package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.Value;

/**
 * The LeViT-style {@code BN_Linear} classifier head ({@code <head>.bn} BatchNorm1d, then
 * {@code <head>.l} Linear) used by SHViT, LSNet and their kin; with a distillation head
 * ({@code head_dist}) the eval output is the mean of both. Every head's BatchNorm and the averaging
 * are folded at build time (in double precision) into one MatMul and one Add on the pooled vector.
 */
public final class BnLinearHead {
    private BnLinearHead() {
    }

    /**
     * The mean of the heads named {@code heads} (scopes under {@code root}) applied to {@code pooled}
     * {@code [N, in]}; stored under the first head as {@code l.weight_folded [in, classes]} and
     * {@code l.bias_folded}.
     */
    public static Value averaged(Scope root, Value pooled, int in, int classes, double eps, String... heads) {
        Graph g = root.graph();
        double[] wf = new double[classes * in], bf = new double[classes];
        for (String hn : heads) {
            Scope hs = root.scope(hn);
            double[][] a = BatchNorm.affine(hs.scope("bn"), in, eps);
            float[] lw = hs.scope("l").floats("weight", classes, in), lb = hs.scope("l").floats("bias", classes);
            for (int r = 0; r < classes; r++) {
                double acc = lb[r];
                for (int j = 0; j < in; j++) {
                    wf[r * in + j] += lw[r * in + j] * a[0][j] / heads.length;
                    acc += lw[r * in + j] * a[1][j];
                }
                bf[r] += acc / heads.length;
            }
        }
        float[] wt = new float[in * classes], bt = new float[classes];
        for (int r = 0; r < classes; r++) {
            bt[r] = (float) bf[r];
            for (int j = 0; j < in; j++) wt[j * classes + r] = (float) wf[r * in + j];
        }
        Scope l = root.scope(heads[0]).scope("l");
        String doc = "BatchNorm1d folded in; stored [in, out]" + (heads.length > 1 ? "; " + String.join(" and ", heads) + " averaged" : "");
        return g.add(g.matMul(pooled, l.derived("weight_folded", doc, wt, in, classes)), l.derived("bias_folded", null, bt, classes));
    }
}
