package org.attnzoo.zoo;

import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code convert --random-weights} models are what benchmarks run: their logits must be finite
 * and must differ between classes (BatchNorm networks with made-up negative running variances used
 * to compute NaN everywhere, so their benchmarks timed NaN arithmetic).
 */
class SyntheticWeightsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"halonet26t", "shvit_s1", "convit_tiny", "rcvit_xs"})
    void syntheticModelsComputeFiniteDistinctLogits(String name) throws Exception {
        Architecture a = Architectures.get(name);
        Path onnx = tmp.resolve(name + ".onnx");
        OnnxModel.save(ModelBuilder.buildSynthetic(a, 0).graph(), onnx);
        int[] in = a.inputSize();
        float[] x = new float[in[0] * in[1] * in[2]];
        Random r = new Random(0);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (OnnxSession s = OnnxSession.open(onnx)) {
            float[] y = s.run(new NdArray(x, new long[]{1, in[0], in[1], in[2]})).data();
            double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
            for (float v : y) {
                assertThat(Float.isFinite(v)).as("%s logit %s", name, v).isTrue();
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertThat(max - min).as(name + " logit spread").isGreaterThan(1e-3);
        }
    }
}
