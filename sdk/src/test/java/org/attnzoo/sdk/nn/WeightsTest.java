package org.attnzoo.sdk.nn;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Synthetic weights are scaled like an initialisation, so synthetic models compute finite values. */
class WeightsTest {
    private static double[] meanStd(float[] d) {
        double s = 0, ss = 0;
        for (float v : d) {
            s += v;
            ss += (double) v * v;
        }
        double m = s / d.length;
        return new double[]{m, Math.sqrt(ss / d.length - m * m)};
    }

    @Test
    void convAndLinearWeightsHaveAQuarterOfTheFanInVariance() {
        float[] conv = Weights.synthesize("stages.0.conv.weight", new long[]{64, 32, 3, 3}, new Random(1));
        assertThat(meanStd(conv)[1]).isCloseTo(0.5 / Math.sqrt(32 * 9), within(0.005));
        float[] fc = Weights.synthesize("head.fc.weight", new long[]{1000, 768}, new Random(2));
        assertThat(meanStd(fc)[1]).isCloseTo(0.5 / Math.sqrt(768), within(0.001));
    }

    @Test
    void layerScalesOfShapeC11AreSmallLikeOtherOneDimensionalTensors() {
        double[] ls = meanStd(Weights.synthesize("blocks.0.layer_scale", new long[]{4096, 1, 1}, new Random(6)));
        assertThat(ls[1]).isCloseTo(0.02, within(0.005));
    }

    @Test
    void batchNormVariancesArePositiveAndNormScalesNearOne() {
        float[] var = Weights.synthesize("bn1.running_var", new long[]{4096}, new Random(3));
        for (float v : var) assertThat(v).isBetween(0.5f, 1.5f);
        double[] scale = meanStd(Weights.synthesize("norm.weight", new long[]{4096}, new Random(4)));
        assertThat(scale[0]).isCloseTo(1, within(0.01));
        assertThat(scale[1]).isCloseTo(0.02, within(0.005));
        double[] bias = meanStd(Weights.synthesize("norm.bias", new long[]{4096}, new Random(5)));
        assertThat(bias[0]).isCloseTo(0, within(0.005));
        assertThat(bias[1]).isCloseTo(0.02, within(0.005));
    }

    @Test
    void sameSeedSameWeights() {
        Weights a = Weights.synthetic(7), b = Weights.synthetic(7);
        float[] x = a.take("blocks.0.attn.qkv.weight", new long[]{48, 16}, true).toFloatArray();
        float[] y = b.take("blocks.0.attn.qkv.weight", new long[]{48, 16}, true).toFloatArray();
        assertThat(x).containsExactly(y);
    }
}
