package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.hornet.HorNet;
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
 * HorNet against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/hornet.py): g^nConv of orders 2–5 with 7×7 depthwise mixers and global-local
 * filters on even and odd maps, filters used at their size and bilinearly resized; every
 * registered variant's parameter count (the 22k-class variants counted with their larger head).
 */
class HorNetParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"hornet_reduced", "hornet_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        HorNet.Config cfg = ParityFixture.config(fixture, HorNet.Config.class);
        HorNet arch = new HorNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps as the authors' detection backbone returns them (stage outputs through norm0..3,
     * at their initialisation) and the pooled, normed pre-logits vector (tools/parity/hornet_backbone.py).
     */
    @ParameterizedTest
    @ValueSource(strings = {"hornet_reduced", "hornet_reduced_odd"})
    void backboneOutputsMatchTheAuthorsBackbone(String fixture) throws Exception {
        HorNet.Config cfg = ParityFixture.config(fixture, HorNet.Config.class);
        HorNet arch = new HorNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    /** The same weights at 80x80 (maps 20/10/5/2; the global filters meet other spectra) against the authors' classifier. */
    @Test
    void runsAtAnotherSize() throws Exception {
        String fixture = "hornet_reduced";
        HorNet.Config cfg = ParityFixture.config(fixture, HorNet.Config.class);
        HorNet arch = new HorNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 80);
        assertThatThrownBy(() -> arch.atSize(16, 16)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 32x32");
    }

    @Test
    void anInvalidOutIndexFailsAtBuildTime() {
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(HorNet.variant("hornet_tiny_gf"), 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices: 0,1,2,3");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("hornet_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(HorNet.VARIANTS.size() - 3);   // the three _in22k heads are checked below
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            HorNet arch = HorNet.variant(e.getKey());
            long want = e.getValue().asLong();
            assertThat(arch.config().parameterCount()).as(e.getKey()).isEqualTo(want);
            if (want < 100_000_000L) {   // the large models (195-202 M) only analytically: test heap
                assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(e.getKey()).isEqualTo(want);
            }
            if (e.getKey().startsWith("hornet_large")) {   // the 22k head: 21841 instead of 1000 classes
                long extra = (21841L - 1000L) * (8 * 192 + 1);
                assertThat(HorNet.variant(e.getKey() + "_in22k").config().parameterCount()).as(e.getKey() + "_in22k").isEqualTo(want + extra);
            }
        }
    }
}
