package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.attnet.AttNet;
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
 * AttNet (ATConv) against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/attnet.py): kernel 3 with layer scales and GLUs with depthwise conv and RMS norm;
 * kernel 5 without layer scales, mixed GLU options, odd map sizes; every registered variant's
 * parameter count.
 */
class AttNetParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"attnet_reduced", "attnet_reduced_k5"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        AttNet.Config cfg = ParityFixture.config(fixture, AttNet.Config.class);
        AttNet arch = new AttNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps (each stage's output: the authors' repository has no detection backbone class)
     * and the embedding (forward_features: mean pool + LayerNorm), from tools/parity/attnet_backbone.py.
     */
    @ParameterizedTest
    @ValueSource(strings = {"attnet_reduced", "attnet_reduced_k5"})
    void backboneOutputsMatchTheAuthorsCode(String fixture) throws Exception {
        AttNet.Config cfg = ParityFixture.config(fixture, AttNet.Config.class);
        AttNet arch = new AttNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    /** The same weights at 80x80 (the fixture is 64x64) against the authors' model on an 80x80 input. */
    @Test
    void runsAtAnotherSize() throws Exception {
        String fixture = "attnet_reduced";
        AttNet.Config cfg = ParityFixture.config(fixture, AttNet.Config.class);
        AttNet arch = new AttNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 80);
        assertThatThrownBy(() -> arch.atSize(64, 80)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    @Test
    void anInvalidOutIndexFailsAtBuildTime() {
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(AttNet.variant("AttNet_XXS"), 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("attnet_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(AttNet.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(AttNet.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
