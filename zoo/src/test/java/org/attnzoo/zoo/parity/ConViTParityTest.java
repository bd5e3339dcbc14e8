package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.convit.ConViT;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ConViT against timm's float64 outputs on the same random fp16-exact weights (fixtures from
 * tools/parity/convit.py): reduced configs through timm's constructor, and full-size convit_tiny
 * from both upstream checkpoint forms (fp16 safetensors; a {'model': ...} wrapped .pth).
 */
class ConViTParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"convit_reduced", "convit_reduced_nobias"})
    void reducedConfigsMatchTimm(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        JsonNode meta = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        ConViT.Config cfg = new ObjectMapper().treeToValue(meta.get("config"), ConViT.Config.class);
        ConViT arch = new ConViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        try (StateDict sd = Checkpoints.open(dir.resolve("weights.safetensors"))) {
            ModelBuilder.Built built = ModelBuilder.build(arch, sd);
            assertThat(built.parameters()).isEqualTo(meta.get("parameters").asLong());
            check(fixture, built, dir);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"model.safetensors", "checkpoint.pth"})
    void fullSizeConvitTinyMatchesTimmFromBothCheckpointForms(String file) throws Exception {
        Path dir = FIXTURES.resolve("convit_tiny_full");
        Architecture arch = Architectures.get("convit_tiny");
        try (StateDict sd = Checkpoints.open(dir.resolve(file))) {
            ModelBuilder.Built built = ModelBuilder.build(arch, sd);
            assertThat(built.parameters()).isEqualTo(5_710_512L);
            check("convit_tiny/" + file, built, dir);
        }
    }

    /** Saves (while the checkpoint is open: initializers read it lazily), checks and runs the model. */
    private void check(String what, ModelBuilder.Built built, Path dir) throws Exception {
        Path onnx = tmp.resolve("model.onnx");
        OnnxModel.save(built.graph(), onnx);
        OnnxChecker.check(onnx);
        NdArray x = Npy.read(dir.resolve("input.npy"));
        NdArray want = Npy.read(dir.resolve("expected.npy"));
        try (OnnxSession s = OnnxSession.open(onnx)) {
            NdArray got = s.run(x);
            double rel = Parity.assertParity(what, got, want, 1e-4);
            System.out.printf("parity %s: relative L2 %.2e%n", what, rel);
        }
        assertThat(Files.size(onnx)).isPositive();
    }
}
