package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.converters.StateDicts;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.shvit.SHViT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * SHViT against timm's float64 outputs on random fp16-exact weights (BN statistics included), from
 * tools/parity/shvit.py: reduced configs at two input sizes, loaded from timm's layout
 * (weights.safetensors) and from the authors' layout ({'model': ...} .pth with 2-D SE kernels).
 *
 * <p>Parameter counts equal timm's {@code parameters()}: BatchNorm running statistics are read as
 * buffers, which are not counted.
 */
class SHViTParityTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"shvit_reduced,weights.safetensors", "shvit_reduced,authors.pth",
            "shvit_reduced_80,weights.safetensors", "shvit_reduced_80,authors.pth"})
    void reducedConfigsMatchTimm(String fixture, String file) throws Exception {
        SHViT.Config cfg = ParityFixture.config(fixture, SHViT.Config.class);
        SHViT arch = new SHViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fixture + "/" + file, arch, ParityFixture.dir(fixture).resolve(file), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    /**
     * Feature maps as the authors' downstream backbone (Partial_ViT_Exp: blocks1..3 outputs, the
     * same as timm's features_only) and the pooled embedding, from both checkpoint layouts.
     */
    @ParameterizedTest
    @CsvSource({"shvit_reduced,weights.safetensors", "shvit_reduced,authors.pth", "shvit_reduced_80,weights.safetensors"})
    void backboneOutputsMatchTheAuthorsDownstreamBackbone(String fixture, String file) throws Exception {
        SHViT.Config cfg = ParityFixture.config(fixture, SHViT.Config.class);
        SHViT arch = new SHViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture + "/" + file, arch, ParityFixture.dir(fixture).resolve(file), fixture, tmp);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    /** The same weights at 96x96 (no position bias: any size). */
    @Test
    void anotherSizeMatchesTimm() throws Exception {
        String fixture = "shvit_reduced";
        SHViT.Config cfg = ParityFixture.config(fixture, SHViT.Config.class);
        SHViT arch = new SHViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 96);
        assertThatThrownBy(() -> arch.atSize(96, 64)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    /** An authors' distillation checkpoint: head and head_dist are averaged at eval; two equal heads give the same logits. */
    @Test
    void authorsDistillationHeadIsAveraged() throws Exception {
        Path dir = ParityFixture.dir("shvit_reduced");
        SHViT.Config cfg = ParityFixture.config("shvit_reduced", SHViT.Config.class);
        SHViT arch = new SHViT("shvit_reduced", cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        try (StateDict sd = Checkpoints.open(dir.resolve("authors.pth"))) {
            java.util.Map<String, org.attnzoo.sdk.tensor.TensorData> m = new java.util.LinkedHashMap<>(StateDicts.toMap(sd));
            for (String k : sd.keys()) if (k.startsWith("head.")) m.put("head_dist." + k.substring(5), sd.get(k));
            ModelBuilder.Built built = ModelBuilder.build(arch, StateDicts.of("authors+dist", m));
            Path onnx = tmp.resolve("dist.onnx");
            OnnxModel.save(built.graph(), onnx);
            try (OnnxSession s = OnnxSession.open(onnx)) {
                Parity.assertParity("shvit_reduced/head_dist", s.run(Npy.read(dir.resolve("input.npy"))), Npy.read(dir.resolve("expected.npy")), 1e-4);
            }
        }
    }

    @Test
    void fullVariantsHaveTimmsParameterCounts() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(ParityFixture.ROOT.resolve("shvit_param_counts.json").toFile());
        assertThat(SHViT.VARIANTS.keySet()).containsExactlyInAnyOrderElementsOf(() -> counts.fieldNames());
        for (String v : SHViT.VARIANTS.keySet()) {
            JsonNode c = counts.get(v);
            long built = ModelBuilder.buildSynthetic(SHViT.variant(v), 0).parameters();
            assertThat(built).as(v).isEqualTo(c.get("parameters").asLong());
        }
        assertThat(SHViT.variant("shvit_s4").preprocessing().inputSize()).containsExactly(3, 256, 256);
    }
}
