package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.spartan.SpaRTAN;
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
 * SpaRTAN against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/spartan.py): dense and grouped halves, the argmax gather and the complex channel
 * weights; a three-layer model with an empty layer and odd map sizes; the released
 * configuration's parameter count.
 */
class SpaRTANParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"spartan_reduced", "spartan_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        SpaRTAN.Config cfg = ParityFixture.config(fixture, SpaRTAN.Config.class);
        SpaRTAN arch = new SpaRTAN(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps (the last block of each layer with blocks: the authors' repository has no
     * detection backbone class; the odd fixture's empty layer is no stage, so it has two) and the
     * embedding (what linear reads), from tools/parity/spartan_backbone.py.
     */
    @ParameterizedTest
    @ValueSource(strings = {"spartan_reduced", "spartan_reduced_odd"})
    void backboneOutputsMatchTheAuthorsCode(String fixture) throws Exception {
        SpaRTAN.Config cfg = ParityFixture.config(fixture, SpaRTAN.Config.class);
        SpaRTAN arch = new SpaRTAN(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    /** The same weights at 72x72 (the fixture is 64x64) against the authors' model on a 72x72 input; too small a size is refused. */
    @Test
    void runsAtAnotherSize() throws Exception {
        String fixture = "spartan_reduced";
        SpaRTAN.Config cfg = ParityFixture.config(fixture, SpaRTAN.Config.class);
        SpaRTAN arch = new SpaRTAN(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 72);
        assertThatThrownBy(() -> arch.atSize(28, 28)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 29x29");
        assertThat(arch.atSize(29, 29).inputSize()).containsExactly(3, 29, 29);
    }

    @Test
    void anInvalidOutIndexFailsAtBuildTime() {
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(SpaRTAN.variant("spartan_s"), 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("spartan_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(SpaRTAN.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(SpaRTAN.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
