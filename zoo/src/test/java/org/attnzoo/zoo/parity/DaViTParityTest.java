package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.davit.DaViT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DaViT against timm's float64 outputs on random fp16-exact weights (tools/parity/davit.py): reduced
 * configs at 64² (window 4, with window padding) and 70² (stem and downsample padding, window 7
 * padded, no qkv bias), loaded from timm's layout and from the authors' ({'state_dict': ...} .pth).
 */
class DaViTParityTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"davit_reduced,weights.safetensors", "davit_reduced,authors.pth",
            "davit_reduced_70,weights.safetensors", "davit_reduced_70,authors.pth"})
    void reducedConfigsMatchTimm(String fixture, String file) throws Exception {
        DaViT.Config cfg = ParityFixture.config(fixture, DaViT.Config.class);
        DaViT arch = new DaViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        assertThat(DaViT.parameterCount(cfg)).isEqualTo(params);
        ParityFixture.check(fixture + "/" + file, arch, ParityFixture.dir(fixture).resolve(file), fixture, tmp, params);
    }

    /** Feature maps (timm's features_only) and the embedding (forward_head(pre_logits=True)), both fixtures. */
    @ParameterizedTest
    @CsvSource({"davit_reduced", "davit_reduced_70"})
    void backboneOutputsMatchTimm(String fixture) throws Exception {
        DaViT.Config cfg = ParityFixture.config(fixture, DaViT.Config.class);
        DaViT arch = new DaViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        if (fixture.equals("davit_reduced")) {
            BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 96);
        }
    }

    /**
     * Every variant's analytic count equals timm's; davit_tiny is also built (synthetic weights) and
     * counted. The larger variants (up to 1.4 B parameters) are not built here: too big for the test heap.
     */
    @Test
    void variantsHaveTimmsParameterCounts() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(ParityFixture.ROOT.resolve("davit_param_counts.json").toFile());
        assertThat(DaViT.VARIANTS.keySet()).containsExactlyInAnyOrderElementsOf(() -> counts.fieldNames());
        for (var e : DaViT.VARIANTS.entrySet()) {
            assertThat(DaViT.parameterCount(e.getValue())).as(e.getKey()).isEqualTo(counts.get(e.getKey()).get("parameters").asLong());
        }
        long tiny = ModelBuilder.buildSynthetic(DaViT.variant("davit_tiny"), 0).parameters();
        assertThat(tiny).isEqualTo(counts.get("davit_tiny").get("parameters").asLong());
        assertThat(DaViT.variant("davit_tiny").preprocessing().cropPct()).isEqualTo(0.95);
        assertThat(DaViT.variant("davit_tiny", 384).inputSize()).containsExactly(3, 384, 384);
    }
}
