package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.biformer.BiFormer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * BiFormer against the authors' code (bra_legacy) in float64 on random fp16-exact weights
 * (fixtures from tools/parity/biformer.py): bi-level routing attention in three stages (windows of
 * 4×4, 2×2 and 1×1 pixels) and LePE attention in the last; and a fixture whose input is a tiled
 * patch, so that identical windows give exactly tied routing logits: there PyTorch's CPU top-k
 * picks differ from ONNX TopK's lowest-index picks in several rows (recorded by the generator), and
 * the outputs still agree, because tied windows carry the same keys and values. Every registered
 * variant's parameter count.
 */
class BiFormerParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"biformer_reduced", "biformer_ties"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        BiFormer.Config cfg = ParityFixture.config(fixture, BiFormer.Config.class);
        BiFormer arch = new BiFormer(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps as the authors' BiFormer_mm (each stage output through its extra_norms LayerNorm2d,
     * at its initial identity), the embedding the head reads, and the model at 128x128.
     */
    @Test
    void backboneOutputsMatchTheAuthorsDetectionBackbone() throws Exception {
        String fixture = "biformer_reduced";
        BiFormer.Config cfg = ParityFixture.config(fixture, BiFormer.Config.class);
        BiFormer arch = new BiFormer(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        Path weights = ParityFixture.dir(fixture).resolve("weights.safetensors");
        BackboneFixture.check(fixture, arch, weights, fixture, tmp);
        BackboneFixture.checkAtSize(fixture, arch, weights, fixture, tmp, 128);
        assertThatThrownBy(() -> arch.atSize(96, 96)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 64");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    @Test
    void theTieFixtureReallyHasTiesWherePyTorchAndOnnxTopKChooseDifferently() throws Exception {
        JsonNode ties = ParityFixture.meta("biformer_ties").get("routing_ties");
        assertThat(ties.get("tied_rows").asInt()).isPositive();
        assertThat(ties.get("differs_from_lowest_index").asInt()).isPositive();
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("biformer_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(BiFormer.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(BiFormer.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
