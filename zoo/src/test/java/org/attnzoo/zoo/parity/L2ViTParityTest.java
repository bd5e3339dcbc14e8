package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoint;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.l2vit.L2ViT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * L²ViT against the authors' l2vit.py in float64 on random fp16-exact weights (fixtures from
 * tools/parity/l2vit.py): local window attention on padded windows, the ReLU linear attention with
 * its clamped denominator (both sides of the clamp hit) and temperature, odd maps with padded
 * embeddings; the checkpoint layout of the authors' training script (model / model_ema); every
 * registered variant's parameter count. The full-size L2ViT_Tiny check runs when
 * {@code -Dattnzoo.l2vit.full=DIR} names a directory written by {@code l2vit.py --full DIR}.
 */
class L2ViTParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"l2vit_reduced", "l2vit_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        L2ViT.Config cfg = ParityFixture.config(fixture, L2ViT.Config.class);
        JsonNode den = ParityFixture.meta(fixture).get("denominators");
        assertThat(den.get("clamped").asLong()).as("denominators below the clamp").isPositive();
        assertThat(den.get("unclamped").asLong()).as("denominators above the clamp").isPositive();
        L2ViT arch = new L2ViT(fixture, cfg, org.attnzoo.sdk.model.Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps as the authors' detection/segmentation backbone returns them (each stage's
     * tokens through its norm{i} LayerNorm at PyTorch's initial state, NCHW; the fixture comes from
     * that class itself), and the pooled pre-logits vector the head reads.
     */
    @ParameterizedTest
    @ValueSource(strings = {"l2vit_reduced", "l2vit_reduced_odd"})
    void backboneOutputsMatchTheAuthorsDetectionBackbone(String fixture) throws Exception {
        L2ViT.Config cfg = ParityFixture.config(fixture, L2ViT.Config.class);
        L2ViT arch = new L2ViT(fixture, cfg, org.attnzoo.sdk.model.Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    /** The same weights at 48x48 (padded convs and windows, no position table). */
    @Test
    void anotherSizeMatchesTheAuthorsModel() throws Exception {
        String fixture = "l2vit_reduced";
        L2ViT.Config cfg = ParityFixture.config(fixture, L2ViT.Config.class);
        L2ViT arch = new L2ViT(fixture, cfg, org.attnzoo.sdk.model.Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 48);
        assertThatThrownBy(() -> arch.atSize(48, 64)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    /**
     * The authors' save_model layout (model, model_ema, optimizer, epoch, scaler, argparse args): the
     * default entry is "model" (what their --resume evaluates), model_ema on request; the pickled
     * {@code argparse.Namespace} is accepted as inert data when allowed, as
     * {@code convert --allow-opaque argparse.Namespace} does.
     */
    @ParameterizedTest
    @CsvSource({",model,expected.npy", "model_ema,model_ema,expected_ema.npy"})
    void trainingCheckpointLayoutConverts(String key, String entry, String expected) throws Exception {
        String fixture = "l2vit_checkpoint";
        L2ViT.Config cfg = ParityFixture.config(fixture, L2ViT.Config.class);
        L2ViT arch = new L2ViT(fixture, cfg, org.attnzoo.sdk.model.Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        Path ckpt = ParityFixture.dir(fixture).resolve("checkpoint-best-ema.pth");
        Path onnx = tmp.resolve("model.onnx");
        ModelBuilder.Built built;
        Checkpoints.Options opts = Checkpoints.Options.defaults().withOpaqueGlobals("argparse.Namespace");
        if (key != null) opts = opts.withEntry(key);
        try (Checkpoint sd = Checkpoints.open(ckpt, opts)) {
            assertThat(sd.entry()).isEqualTo(entry);
            built = ModelBuilder.build(arch, sd);
            OnnxModel.save(built.graph(), onnx);
        }
        assertThat(built.parameters()).isEqualTo(ParityFixture.meta(fixture).get("parameters").asLong());
        OnnxChecker.check(onnx);
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(fixture + "/" + entry, s.run(Npy.read(ParityFixture.dir(fixture).resolve("input.npy"))),
                    Npy.read(ParityFixture.dir(fixture).resolve(expected)), 1e-4);
            System.out.printf("parity %s/%s: relative L2 %.2e%n", fixture, entry, rel);
        }
    }

    @Test
    void trainingCheckpointWithoutTheNamespaceAllowedIsRefusedByName() {
        Path ckpt = ParityFixture.dir("l2vit_checkpoint").resolve("checkpoint-best-ema.pth");
        assertThatThrownBy(() -> Checkpoints.open(ckpt, Checkpoints.Options.defaults().withoutOpaqueGlobals()).close()).hasMessageContaining("argparse.Namespace")
                .hasMessageContaining("checkpoint-best-ema.pth");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("l2vit_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(L2ViT.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(L2ViT.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }

    @Test
    @EnabledIfSystemProperty(named = "attnzoo.l2vit.full", matches = ".+")
    void fullSizeTinyMatchesTheAuthorsCode() throws Exception {
        Path dir = Path.of(System.getProperty("attnzoo.l2vit.full")).toAbsolutePath();
        Path onnx = tmp.resolve("full.onnx");
        ModelBuilder.Built built;
        try (Checkpoint sd = Checkpoints.open(dir.resolve("model.safetensors"))) {
            built = ModelBuilder.build(Architectures.get("L2ViT_Tiny"), sd);
            OnnxModel.save(built.graph(), onnx);
        }
        assertThat(built.parameters()).isEqualTo(28_596_781L);
        OnnxChecker.check(onnx);
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity("L2ViT_Tiny full", s.run(Npy.read(dir.resolve("input.npy"))), Npy.read(dir.resolve("expected.npy")), 1e-4);
            System.out.printf("parity L2ViT_Tiny full size: relative L2 %.2e%n", rel);
        }
    }
}
