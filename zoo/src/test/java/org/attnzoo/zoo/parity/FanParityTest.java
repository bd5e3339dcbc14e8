package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.fan.Fan;
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
 * FAN (ViT and ConvNeXt-hybrid forms) and TAP-FAN against the authors' code (NVlabs/FAN
 * models/fan.py, guoyongcs/TAPADL tap_fan.py) in float64 on random fp16-exact weights (fixtures
 * from tools/parity/fan.py): conv patch embed of patch 16 and 8, odd grid, a width change with its
 * overlapping downsample, class attention with and without tokens_norm, the hybrid ConvNeXt stem,
 * TAP with 4 and 2 scales; and every registered model's parameter count.
 */
class FanParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"fan_vit_reduced", "fan_vit_reduced_odd", "fan_hybrid_reduced", "tap_fan_hybrid_reduced", "tap_fan_vit_reduced"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        Fan.Config cfg = ParityFixture.config(fixture, Fan.Config.class);
        Fan arch = new Fan(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    @Test
    void everyRegisteredModelHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("fan_param_counts.json").toFile());
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!Fan.VARIANTS.containsKey(e.getKey())) continue;
            assertThat(ModelBuilder.buildSynthetic(Fan.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
            checked++;
        }
        assertThat(checked).isEqualTo(Fan.VARIANTS.size());
    }

    @Test
    void seMlpModelsAreRefusedWithTheReason() {
        Fan.Config c = Fan.VARIANTS.get("fan_small_12_p16_224");
        Fan.Config se = new Fan.Config(c.imgSize(), c.numClasses(), c.patchSize(), c.channelDims(), c.numHeads(), c.mlpRatio(),
                c.qkvBias(), c.tokensNorm(), c.clsAttnLayers(), c.backboneDepths(), c.backboneDims(), 0, true);
        assertThatThrownBy(() -> new Fan("fan_small_12_p16_224_se_attn", se, Preprocessing.imagenet(224, 1.0, "bicubic")))
                .hasMessageContaining("FANBlock_SE");
    }
}
