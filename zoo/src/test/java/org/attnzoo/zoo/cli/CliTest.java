package org.attnzoo.zoo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.converters.SafetensorsWriter;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI end to end: convert upstream checkpoints, infer, bench, and the clear errors. */
class CliTest {
    static final Path FULL = Path.of("src/test/resources/parity/convit_tiny_full");
    static final Path EVIL = Path.of("../converters/src/test/resources/checkpoints/pt_evil.pth");

    @TempDir
    static Path shared;
    static Path tinyOnnx;

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void convertOnce() {
        tinyOnnx = shared.resolve("convit_tiny.onnx");
        Run r = cli("convert", "convit_tiny", "--checkpoint", FULL.resolve("model.safetensors").toString(), "-o", tinyOnnx.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("5,710,512 parameters");
    }

    /** --output embedding: the pooled pre-logits vector, which the checkpoint's own head maps onto the logits graph's output. */
    @Test
    void embeddingOutputThroughTheCheckpointsHeadGivesTheLogits() throws Exception {
        Path emb = tmp.resolve("convit_tiny_embedding.onnx");
        Run r = cli("convert", "convit_tiny", "--checkpoint", FULL.resolve("model.safetensors").toString(), "--output", "embedding", "-o", emb.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("embedding[N, 192]");
        OnnxChecker.check(emb);
        NdArray x = Npy.read(FULL.resolve("input.npy"));
        NdArray e, logits;
        try (var s = org.attnzoo.sdk.runtime.OnnxSession.open(emb)) {
            e = s.run(x);
            assertThat(s.metadata()).containsEntry("attnzoo.output", "embedding").containsEntry("attnzoo.embedding_dim", "192");
        }
        try (var s = org.attnzoo.sdk.runtime.OnnxSession.open(tinyOnnx)) {
            logits = s.run(x);
        }
        float[] w, b;
        try (StateDict sd = Checkpoints.open(FULL.resolve("model.safetensors"))) {
            w = sd.get("head.weight").toFloatArray();
            b = sd.get("head.bias").toFloatArray();
        }
        int n = (int) e.shape()[0], d = 192, classes = b.length;
        float[] viaHead = new float[n * classes];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < classes; k++) {
                double acc = b[k];
                for (int j = 0; j < d; j++) acc += (double) w[k * d + j] * e.data()[i * d + j];
                viaHead[i * classes + k] = (float) acc;
            }
        }
        assertThat(Parity.relativeL2(viaHead, logits.data())).isLessThan(1e-5);
    }

    /** Outputs, indices and sizes a model does not offer fail before anything is built or written, naming what it offers. */
    @Test
    void requestsAModelCannotServeFailNamingWhatItOffers() {
        Path out = tmp.resolve("never.onnx");
        Run idx = cli("convert", "davit_tiny", "--random-weights", "0", "--output", "features", "--out-indices", "1,4", "-o", out.toString());
        assertThat(idx.code()).isNotZero();
        assertThat(idx.err()).contains("davit_tiny has no feature map 4; valid out-indices: 0,1,2,3").doesNotContain("Exception");
        Run iso = cli("convert", "convit_tiny", "--random-weights", "0", "--output", "features", "-o", out.toString());
        assertThat(iso.err()).contains("convit_tiny offers no feature maps").contains("embedding (192)");
        Run size = cli("convert", "convit_tiny", "--random-weights", "0", "--img-size", "256", "-o", out.toString());
        assertThat(size.err()).contains("convit_tiny cannot run at 256x256: its absolute position table").contains("(valid: 224x224 only)");
        Run kind = cli("convert", "convit_tiny", "--random-weights", "0", "--output", "pixels", "-o", out.toString());
        assertThat(kind.err()).contains("unknown output 'pixels'; valid: logits, embedding, features");
        Run rect = cli("convert", "davit_tiny", "--random-weights", "0", "--img-size", "256,320", "-o", out.toString());
        assertThat(rect.err()).contains("davit_tiny cannot run at 256x320");
        assertThat(out).doesNotExist();
    }

    @ParameterizedTest
    @ValueSource(strings = {"model.safetensors", "checkpoint.pth"})
    void convertsBothUpstreamFormsAndInfersUpstreamLogits(String file) throws Exception {
        Path onnx = file.endsWith(".pth") ? tmp.resolve("from_pth.onnx") : tinyOnnx;
        if (file.endsWith(".pth")) {
            Run c = cli("convert", "convit_tiny", "--checkpoint", FULL.resolve(file).toString(), "--output", onnx.toString());
            assertThat(c.code()).as(c.err()).isZero();
        }
        OnnxChecker.check(onnx);
        Path y = tmp.resolve("y.npy");
        Run r = cli("infer", onnx.toString(), "--input", FULL.resolve("input.npy").toString(), "--output", y.toString(), "--device", "cpu");
        assertThat(r.code()).as(r.err()).isZero();
        NdArray got = Npy.read(y);
        Parity.assertParity("cli " + file, got, Npy.read(FULL.resolve("expected.npy")), 1e-4);
    }

    @Test
    void benchPrintsMedianAndP90AsJson() throws Exception {
        Run r = cli("bench", tinyOnnx.toString(), "--runs", "3", "--warmup", "1", "--threads", "2", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("median_ms").asDouble()).isPositive();
        assertThat(j.get("p90_ms").asDouble()).isGreaterThanOrEqualTo(j.get("min_ms").asDouble());
        assertThat(j.get("runs").asInt()).isEqualTo(3);
        assertThat(j.get("images_per_s").asDouble()).isCloseTo(1000.0 / j.get("median_ms").asDouble(), org.assertj.core.data.Offset.offset(0.01));
        Run batch = cli("bench", tinyOnnx.toString(), "--runs", "2", "--warmup", "0", "--batch", "2", "--json");
        JsonNode jb = new ObjectMapper().readTree(batch.out());
        assertThat(jb.get("input_shape").get(0).asInt()).isEqualTo(2);
        assertThat(jb.get("images_per_s").asDouble()).isCloseTo(2000.0 / jb.get("median_ms").asDouble(), org.assertj.core.data.Offset.offset(0.01));
        Run text = cli("bench", tinyOnnx.toString(), "--runs", "2", "--warmup", "0");
        assertThat(text.out()).contains("median").contains("p90").contains("images/s").contains("[1, 3, 224, 224]");
    }

    @Test
    void benchFeedsEveryInputOfAModelWithSeveral() throws Exception {
        org.attnzoo.sdk.graph.Graph g = new org.attnzoo.sdk.graph.Graph("two_inputs");
        var a = g.input("a", org.attnzoo.sdk.tensor.DType.F32, 2, 8);
        var b = g.input("b", org.attnzoo.sdk.tensor.DType.F32, 8, 3);
        g.output(g.matMul(a, b), "y");
        Path two = tmp.resolve("two.onnx");
        org.attnzoo.sdk.graph.OnnxModel.save(g, two);
        Run r = cli("bench", two.toString(), "--runs", "2", "--warmup", "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(new ObjectMapper().readTree(r.out()).get("median_ms").asDouble()).isPositive();
        Path x = tmp.resolve("x.npy");
        Npy.write(x, new NdArray(new float[16], new long[]{2, 8}));
        Run one = cli("bench", two.toString(), "--runs", "1", "--input", x.toString());
        assertThat(one.code()).isEqualTo(1);
        assertThat(one.err()).contains("has 2 inputs").contains("--input");
    }

    @Test
    void benchProfileWritesTheTraceAndTimesEveryOpType() throws Exception {
        Path trace = tmp.resolve("prof/convit.json");
        Run r = cli("bench", tinyOnnx.toString(), "--runs", "2", "--warmup", "1", "--threads", "2",
                "--profile", trace.toString(), "--profile-runs", "3", "--top", "4", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode p = new ObjectMapper().readTree(r.out()).get("profile");
        assertThat(p.get("profiled_runs").asInt()).isEqualTo(3);
        assertThat(p.get("slowest_nodes")).hasSize(4);
        double sum = 0;
        for (JsonNode op : p.get("by_op_type")) sum += op.get("ms_per_run").asDouble();
        assertThat(sum).isCloseTo(p.get("kernel_ms_per_run").asDouble(), org.assertj.core.data.Offset.offset(0.05));
        assertThat(p.get("by_op_type").get(0).get("ms_per_run").asDouble()).isPositive();
        // the trace is ONNX Runtime's own: 4 model runs (one warm-up), node events naming their op
        JsonNode events = new ObjectMapper().readTree(trace.toFile());
        long runs = 0, matmuls = 0;
        for (JsonNode e : events) {
            if ("model_run".equals(e.path("name").asText())) runs++;
            if (e.path("args").path("op_name").asText().contains("MatMul")) matmuls++;
        }
        assertThat(runs).isEqualTo(4);
        assertThat(matmuls).isPositive();
        try (var files = Files.list(trace.getParent())) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly("convit.json");
        }
        Run text = cli("bench", tinyOnnx.toString(), "--runs", "1", "--warmup", "0", "--profile", tmp.resolve("t.json").toString(),
                "--profile-runs", "1");
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).contains("by op type:").contains("slowest nodes:").contains("t.json");
    }

    @Test
    void truncatedSafetensorsIsAClearErrorAndWritesNothing() throws Exception {
        byte[] all = Files.readAllBytes(FULL.resolve("model.safetensors"));
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        Path out = tmp.resolve("out.onnx");
        Run r = cli("convert", "convit_tiny", "--checkpoint", cut.toString(), "-o", out.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("cut.safetensors").doesNotContain("\tat ");
        assertThat(out).doesNotExist();
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("cut.safetensors");
        }
    }

    @Test
    void pickleNamingADisallowedGlobalIsRefusedByName() {
        Path out = tmp.resolve("out.onnx");
        Run r = cli("convert", "convit_tiny", "--checkpoint", EVIL.toString(), "-o", out.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("pt_evil.pth").containsPattern("global '(os|posix)\\.system'").contains("refusing");
        assertThat(out).doesNotExist();
    }

    @Test
    void missingKeyAndWrongShapeAreReportedByKey() throws Exception {
        Map<String, TensorData> kept = new LinkedHashMap<>();
        try (StateDict sd = Checkpoints.open(FULL.resolve("model.safetensors"))) {
            for (String k : sd.keys()) {
                if (k.equals("blocks.3.mlp.fc1.bias")) continue;
                TensorData t = sd.get(k);
                if (k.equals("head.weight")) t = new org.attnzoo.sdk.tensor.FloatTensor(new long[]{10, 192}, new float[1920]);
                kept.put(k, t);
            }
            Path bad = tmp.resolve("bad.safetensors");
            SafetensorsWriter.write(bad, kept);
            Path out = tmp.resolve("out.onnx");
            Run r = cli("convert", "convit_tiny", "--checkpoint", bad.toString(), "-o", out.toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("bad.safetensors")
                    .contains("missing key blocks.3.mlp.fc1.bias (expected [768])")
                    .contains("head.weight: expected shape [1000, 192] but the checkpoint has [10, 192]");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void unknownModelNameSuggestsCloseNames() {
        Run r = cli("convert", "convit_tinny", "--random-weights", "0", "-o", tmp.resolve("x.onnx").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("unknown model 'convit_tinny'").contains("did you mean convit_tiny");
    }

    @Test
    void npyOfTheWrongShapeIsAClearError() throws Exception {
        Path x = tmp.resolve("x.npy");
        Npy.write(x, new NdArray(new float[3 * 32 * 32], new long[]{1, 3, 32, 32}));
        Path y = tmp.resolve("y.npy");
        Run r = cli("infer", tinyOnnx.toString(), "--input", x.toString(), "--output", y.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("input 'pixel_values' has shape [1, 3, 32, 32] but the model expects [N, 3, 224, 224]");
        assertThat(y).doesNotExist();
    }

    @Test
    void helpVersionAndUsageErrors() {
        assertThat(cli("--help").out()).contains("convert").contains("infer").contains("bench");
        Run v = cli("--version");
        assertThat(v.code()).isZero();
        assertThat(v.out()).contains("attnzoo").contains("opset 17");
        Run bad = cli("infer", "--nope");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("attnzoo: ").contains("Try 'attnzoo infer --help'");
    }
}
