package org.attnzoo.zoo.parity;

import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ModelBuilder;

import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** A registered model at full size with made-up weights: passes the ONNX checker and computes finite, distinct logits for a batch of two. */
final class FullSize {
    private FullSize() {
    }

    static void buildsAndRuns(Architecture a, Path tmp) throws Exception {
        Path onnx = tmp.resolve(a.name() + ".onnx");
        OnnxModel.save(ModelBuilder.buildSynthetic(a, 0).graph(), onnx);
        OnnxChecker.check(onnx);
        int[] in = a.inputSize();
        int per = in[0] * in[1] * in[2];
        float[] x = new float[2 * per];
        Random r = new Random(0);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        try (OnnxSession s = OnnxSession.open(onnx)) {
            NdArray y = s.run(new NdArray(x, new long[]{2, in[0], in[1], in[2]}));
            assertThat(y.shape()).containsExactly(2, a.numClasses());
            double min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
            for (float v : y.data()) {
                assertThat(Float.isFinite(v)).as("%s logit %s", a.name(), v).isTrue();
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertThat(max - min).as(a.name() + " logit spread").isGreaterThan(1e-3);
        }
    }
}
