package org.attnzoo.sdk.graph;

import org.attnzoo.sdk.nn.Linear;
import org.attnzoo.sdk.nn.Weights;
import org.attnzoo.sdk.nn.WeightMismatchException;
import org.attnzoo.sdk.onnx.proto.OnnxIr.FunctionProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.NodeProto;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class GraphTest {
    @TempDir
    Path tmp;

    @Test
    void wrongReshapeFailsAtBuildTimeNamingOpAndShapes() {
        Graph g = new Graph("t");
        Value x = g.input("x", DType.F32, 2, 3, 4);
        assertThatThrownBy(() -> g.reshape(x, 5, 5))
                .isInstanceOf(ShapeException.class)
                .hasMessageContaining("Reshape").hasMessageContaining("[2, 3, 4]").hasMessageContaining("[5, 5]");
        Value y = g.input("y", DType.F32, 5, 7);
        assertThatThrownBy(() -> g.matMul(x, y))
                .hasMessageContaining("MatMul").hasMessageContaining("[2, 3, 4]").hasMessageContaining("[5, 7]");
        assertThatThrownBy(() -> g.add(x, y)).hasMessageContaining("Add").hasMessageContaining("do not broadcast");
    }

    @Test
    void dynamicBatchFlowsThroughShapes() {
        Graph g = new Graph("t");
        Value x = g.input("x", DType.F32, Shapes.DYN, 6, 4);
        Value r = g.reshape(x, -1, 3, 2, 4);
        assertThat(r.shape()).containsExactly(Shapes.DYN, 3, 2, 4);
        assertThat(g.transpose(r, 0, 2, 1, 3).shape()).containsExactly(Shapes.DYN, 2, 3, 4);
        assertThatThrownBy(() -> g.reshape(x, 6, 4)).hasMessageContaining("run-time size");
    }

    /** A small graph with most op kinds, run on ONNX Runtime against the same maths in Java. */
    @Test
    void linearSoftmaxLayerNormRunOnOnnxRuntime() throws Exception {
        Random rnd = new Random(1);
        float[] w = new float[5 * 4], b = new float[5], x = new float[2 * 3 * 4];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        Map<String, TensorData> sd = new LinkedHashMap<>();
        sd.put("fc.weight", new FloatTensor(new long[]{5, 4}, w));
        sd.put("fc.bias", new FloatTensor(new long[]{5}, b));
        Graph g = new Graph("t");
        Weights weights = Weights.of(mapDict(sd));
        Value in = g.input("x", DType.F32, Shapes.DYN, 3, 4);
        Value y = Linear.apply(weights.root(g).scope("fc"), in, 4, 5, true);
        Value s = g.softmax(y, -1);
        g.output(s, "y");
        weights.finish();
        g.metadata("attnzoo.model", "unit");
        Path file = tmp.resolve("t.onnx");
        OnnxModel.save(g, file);
        OnnxChecker.check(file);
        try (OnnxSession sess = OnnxSession.open(file)) {
            NdArray out = sess.run(new NdArray(x, new long[]{2, 3, 4}));
            assertThat(out.shape()).containsExactly(2, 3, 5);
            for (int row = 0; row < 6; row++) {
                double[] z = new double[5];
                double max = -1e30, sum = 0;
                for (int o = 0; o < 5; o++) {
                    z[o] = b[o];
                    for (int k = 0; k < 4; k++) z[o] += (double) x[row * 4 + k] * w[o * 4 + k];
                    max = Math.max(max, z[o]);
                }
                for (int o = 0; o < 5; o++) sum += Math.exp(z[o] - max);
                for (int o = 0; o < 5; o++) {
                    assertThat((double) out.data()[row * 5 + o]).isCloseTo(Math.exp(z[o] - max) / sum, within(1e-5));
                }
            }
            assertThat(sess.metadata()).containsEntry("attnzoo.model", "unit");
        }
    }

    @Test
    void missingUnexpectedAndMisshapenWeightsAreReportedTogether() {
        Map<String, TensorData> sd = new LinkedHashMap<>();
        sd.put("fc.weight", new FloatTensor(new long[]{5, 3}, new float[15]));
        sd.put("extra.bias", new FloatTensor(new long[]{2}, new float[2]));
        Graph g = new Graph("t");
        Weights weights = Weights.of(mapDict(sd));
        Value in = g.input("x", DType.F32, 1, 4);
        Linear.apply(weights.root(g).scope("fc"), in, 4, 5, true);
        assertThatThrownBy(weights::finish)
                .isInstanceOf(WeightMismatchException.class)
                .hasMessageContaining("fc.weight: expected shape [5, 4] but the checkpoint has [5, 3]")
                .hasMessageContaining("missing key fc.bias (expected [5])")
                .hasMessageContaining("unexpected key extra.bias float32[2]")
                .hasMessageContaining("3 problems");
    }

    @Test
    void functionsAndDomainsAreEmittedAndRun() throws Exception {
        Graph g = new Graph("f");
        Value x = g.input("x", DType.F32, 2, 3);
        FunctionProto f = FunctionProto.newBuilder().setName("Twice").setDomain("org.attnzoo.test")
                .addInput("X").addOutput("Y")
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("X").addInput("X").addOutput("Y"))
                .addOpsetImport(org.attnzoo.sdk.onnx.proto.OnnxIr.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .build();
        g.addFunction(f, 1);
        Value y = g.op("Twice", "org.attnzoo.test", new Value[]{x}, new DType[]{DType.F32}, new long[][]{{2, 3}})[0];
        g.output(y, "y");
        Path file = tmp.resolve("f.onnx");
        OnnxModel.save(g, file);
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(file));
        assertThat(m.getFunctionsList()).hasSize(1);
        assertThat(m.getOpsetImportList()).anyMatch(o -> o.getDomain().equals("org.attnzoo.test") && o.getVersion() == 1);
        OnnxChecker.check(file);
        try (OnnxSession s = OnnxSession.open(file)) {
            NdArray out = s.run(new NdArray(new float[]{1, 2, 3, 4, 5, 6}, new long[]{2, 3}));
            assertThat(out.data()).containsExactly(2, 4, 6, 8, 10, 12);
        }
    }

    @Test
    void externalDataModelsLoadAndRun() throws Exception {
        Graph g = new Graph("ext");
        Value x = g.input("x", DType.F32, 1, 4);
        float[] w = new float[4 * 3];
        for (int i = 0; i < w.length; i++) w[i] = i;
        float[] big = new float[4 * 300];
        for (int i = 0; i < big.length; i++) big[i] = i % 300 == i / 300 ? 1 : 0;    // [4, 300] selecting columns 0..3
        Value y = g.matMul(x, g.constant("w", w, 4, 3));
        // a Reshape whose target shape is an initializer: runtimes need it while inferring shapes
        Value wide = g.reshape(g.matMul(x, g.constant("big", big, 4, 300)), -1, 3, 100);
        g.output(y, "y");
        g.output(wide, "wide");
        Path file = tmp.resolve("ext.onnx");
        OnnxModel.save(g, file, true);
        assertThat(tmp.resolve("ext.onnx.data")).exists();
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(file));
        for (var init : m.getGraph().getInitializerList()) {
            boolean external = init.getDataLocation() == org.attnzoo.sdk.onnx.proto.OnnxIr.TensorProto.DataLocation.EXTERNAL;
            long bytes = external ? Long.parseLong(init.getExternalDataList().stream().filter(e -> e.getKey().equals("length"))
                    .findFirst().orElseThrow().getValue()) : init.getRawData().size();
            assertThat(external).as(init.getName() + " (" + bytes + " bytes) external").isEqualTo(bytes >= OnnxModel.EXTERNAL_MIN_BYTES);
            assertThat(init.getRawData().isEmpty()).isEqualTo(external);
        }
        assertThat(m.getGraph().getInitializerList()).anyMatch(i -> i.getName().equals("big")
                && i.getDataLocation() == org.attnzoo.sdk.onnx.proto.OnnxIr.TensorProto.DataLocation.EXTERNAL);
        try (OnnxSession s = OnnxSession.open(file)) {
            var out = s.run(java.util.Map.of("x", new NdArray(new float[]{1, 0, 0, 1}, new long[]{1, 4})));
            assertThat(out.get("y").data()).containsExactly(0 + 9, 1 + 10, 2 + 11);
            assertThat(out.get("wide").shape()).containsExactly(1, 3, 100);
            assertThat(java.util.Arrays.copyOf(out.get("wide").data(), 4)).containsExactly(1, 0, 0, 1);
        }
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("ext.onnx", "ext.onnx.data");
        }
    }

    static StateDict mapDict(Map<String, TensorData> m) {
        return new StateDict() {
            @Override
            public Set<String> keys() {
                return m.keySet();
            }

            @Override
            public TensorData get(String key) {
                return m.get(key);
            }

            @Override
            public String source() {
                return "test.safetensors";
            }
        };
    }
}
