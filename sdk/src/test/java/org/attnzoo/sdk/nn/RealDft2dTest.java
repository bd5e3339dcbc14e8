package org.attnzoo.sdk.nn;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * RealDft2d on ONNX Runtime against a direct double-precision DFT: rfft2 (ortho) of a real map, and
 * irfft2 (ortho) of an arbitrary, non-Hermitian half spectrum, whose DC and Nyquist imaginary parts
 * irfft ignores; odd and even widths.
 */
class RealDft2dTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"3,5", "4,6", "1,2", "5,1"})
    void forwardAndInverseMatchTheDefinition(int h, int w) throws Exception {
        int c = 2, k = w / 2 + 1;
        Graph g = new Graph("dft");
        Value x = g.input("x", DType.F32, 1, c, h, w);
        Value re = g.input("re", DType.F32, 1, c, h, k);
        Value im = g.input("im", DType.F32, 1, c, h, k);
        RealDft2d d = new RealDft2d(h, w);
        assertThat(d.bins()).isEqualTo(k);
        Value[] spec = d.forward(g, x);
        g.output(spec[0], "fre");
        g.output(spec[1], "fim");
        g.output(d.inverse(g, re, im), "inv");
        Path file = tmp.resolve("dft.onnx");
        OnnxModel.save(g, file);
        OnnxChecker.check(file);

        Random rnd = new Random(h * 31 + w);
        float[] xv = gauss(rnd, c * h * w), rv = gauss(rnd, c * h * k), iv = gauss(rnd, c * h * k);
        Map<String, NdArray> out;
        try (OnnxSession s = OnnxSession.open(file)) {
            out = s.run(Map.of("x", new NdArray(xv, new long[]{1, c, h, w}), "re", new NdArray(rv, new long[]{1, c, h, k}),
                    "im", new NdArray(iv, new long[]{1, c, h, k})));
        }
        double norm = 1 / Math.sqrt((double) h * w);
        for (int ch = 0; ch < c; ch++)
            for (int u = 0; u < h; u++)
                for (int v = 0; v < k; v++) {
                    double sr = 0, si = 0;
                    for (int y = 0; y < h; y++)
                        for (int z = 0; z < w; z++) {
                            double a = -2 * Math.PI * ((double) u * y / h + (double) v * z / w);
                            double val = xv[(ch * h + y) * w + z];
                            sr += val * Math.cos(a);
                            si += val * Math.sin(a);
                        }
                    int i = (ch * h + u) * k + v;
                    assertThat((double) out.get("fre").data()[i]).as("re[%d,%d,%d]", ch, u, v).isCloseTo(sr * norm, within(1e-5));
                    assertThat((double) out.get("fim").data()[i]).as("im[%d,%d,%d]", ch, u, v).isCloseTo(si * norm, within(1e-5));
                }
        // irfft2: full complex inverse along h, then the half-spectrum inverse along w
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int z = 0; z < w; z++) {
                    double acc = 0;
                    for (int v = 0; v < k; v++) {
                        double cr = 0, ci = 0;                        // column v after the inverse along h
                        for (int u = 0; u < h; u++) {
                            double a = 2 * Math.PI * u * y / h;
                            int i = (ch * h + u) * k + v;
                            cr += rv[i] * Math.cos(a) - iv[i] * Math.sin(a);
                            ci += rv[i] * Math.sin(a) + iv[i] * Math.cos(a);
                        }
                        boolean edge = v == 0 || (w % 2 == 0 && v == w / 2);
                        double b = 2 * Math.PI * v * z / w;
                        acc += edge ? cr * Math.cos(b) : 2 * (cr * Math.cos(b) - ci * Math.sin(b));
                    }
                    assertThat((double) out.get("inv").data()[(ch * h + y) * w + z]).as("inv[%d,%d,%d]", ch, y, z)
                            .isCloseTo(acc * norm, within(1e-5));
                }
    }

    @Test
    void aMapOfAnotherSizeIsRefusedWithBothShapes() {
        Graph g = new Graph("dft");
        Value x = g.input("x", DType.F32, 1, 2, 4, 4);
        assertThatThrownBy(() -> new RealDft2d(4, 6).forward(g, x)).hasMessageContaining("[B, C, 4, 6]").hasMessageContaining("4x6");
    }

    private static float[] gauss(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }
}
