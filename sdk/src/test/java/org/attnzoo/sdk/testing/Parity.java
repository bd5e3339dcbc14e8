package org.attnzoo.sdk.testing;

import org.attnzoo.sdk.runtime.NdArray;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The parity rule: relative L2 error below a bound and the same top-5 per row. */
public final class Parity {
    private Parity() {
    }

    public static double relativeL2(float[] got, float[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < got.length; i++) {
            double d = (double) got[i] - want[i];
            num += d * d;
            den += (double) want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    public static int[] topK(float[] row, int k) {
        return IntStream.range(0, row.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -row[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    /** Asserts relative L2 < {@code bound} over the whole output and equal ordered top-5 for every row. */
    public static double assertParity(String what, NdArray got, NdArray want, double bound) {
        assertThat(got.shape()).as("%s output shape", what).containsExactly(want.shape());
        double rel = relativeL2(got.data(), want.data());
        assertThat(rel).as("%s: relative L2 error", what).isLessThan(bound);
        int cols = (int) want.shape()[want.shape().length - 1];
        int rows = want.data().length / cols;
        int k = Math.min(5, cols);
        for (int r = 0; r < rows; r++) {
            float[] g = Arrays.copyOfRange(got.data(), r * cols, (r + 1) * cols);
            float[] w = Arrays.copyOfRange(want.data(), r * cols, (r + 1) * cols);
            assertThat(topK(g, k)).as("%s: top-%d of row %d", what, k, r).containsExactly(topK(w, k));
        }
        return rel;
    }
}
