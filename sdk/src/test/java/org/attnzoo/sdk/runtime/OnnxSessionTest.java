package org.attnzoo.sdk.runtime;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.tensor.DType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OnnxSessionTest {
    @TempDir
    Path tmp;
    Path model;

    @BeforeEach
    void buildModel() throws Exception {
        Graph g = new Graph("scale");
        Value x = g.input("x", DType.F32, Shapes.DYN, 3);
        g.output(g.mul(x, g.constant("k", new float[]{1, 2, 3}, 3)), "y");
        model = tmp.resolve("m.onnx");
        OnnxModel.save(g, model);
    }

    @Test
    void parsesDevices() {
        assertThat(Device.parse("cpu")).isEqualTo(Device.cpu());
        assertThat(Device.parse("CUDA:1")).isEqualTo(Device.cuda(1));
        assertThat(Device.parse("auto").kind()).isEqualTo(Device.Kind.AUTO);
        assertThatThrownBy(() -> Device.parse("tpu")).hasMessageContaining("unknown device 'tpu'");
    }

    @Test
    void autoFallsBackToCpuWithAReasonWhenCudaCannotLoad() {
        try (OnnxSession s = OnnxSession.open(model, RuntimeOptions.defaults().withDevice(Device.auto()))) {
            if (s.device().kind() == Device.Kind.CPU) {
                assertThat(s.fallbackReason()).isNotBlank();
            }
            assertThat(s.run(new NdArray(new float[]{1, 1, 1}, new long[]{1, 3})).data()).containsExactly(1, 2, 3);
        }
    }

    @Test
    void strictCudaRequestFailsClearlyWithoutCuda() {
        RuntimeOptions strict = RuntimeOptions.defaults().withDevice(Device.cuda(0)).withCpuFallback(false);
        try (OnnxSession s = OnnxSession.open(model, strict)) {
            assertThat(s.device().kind()).isEqualTo(Device.Kind.CUDA); // only on a machine with CUDA
        } catch (ModelRuntimeException e) {
            assertThat(e.getMessage()).startsWith("CUDA requested but unavailable");
        }
    }

    @Test
    void wrongInputShapeIsAClearError() {
        try (OnnxSession s = OnnxSession.open(model)) {
            assertThatThrownBy(() -> s.run(new NdArray(new float[4], new long[]{1, 4})))
                    .hasMessageContaining("m.onnx").hasMessageContaining("[1, 4]").hasMessageContaining("[N, 3]");
        }
    }

    @Test
    void oneSessionServesManyThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (OnnxSession s = OnnxSession.open(model)) {
            List<Future<float[]>> fs = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                final float v = i;
                fs.add(pool.submit(() -> s.run(new NdArray(new float[]{v, v, v}, new long[]{1, 3})).data()));
            }
            for (int i = 0; i < 64; i++) assertThat(fs.get(i).get()).containsExactly(i, 2f * i, 3f * i);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void missingModelFileIsAClearError() {
        assertThatThrownBy(() -> OnnxSession.open(tmp.resolve("nope.onnx"))).hasMessageContaining("nope.onnx: no such model file");
    }
}
