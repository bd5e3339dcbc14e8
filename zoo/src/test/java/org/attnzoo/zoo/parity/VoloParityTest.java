package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.volo.Volo;
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
 * VOLO against timm's float64 outputs (forward_head with the token-labelling aux head) on random
 * fp16-exact weights (fixtures from tools/parity/volo.py): reduced configs through timm's
 * constructor with the conv stem, outlooker (kernel 3, padding 1, stride 2), downsample,
 * transformer and class-attention stages, one on an odd grid (ceil-mode pooling, partial windows);
 * and every registered variant's parameter count against timm's.
 */
class VoloParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"volo_reduced", "volo_reduced_odd"})
    void reducedConfigsMatchTimm(String fixture) throws Exception {
        Volo.Config cfg = ParityFixture.config(fixture, Volo.Config.class);
        Volo arch = new Volo(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        assertThat(cfg.parameterCount()).isEqualTo(params);
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps as timm's features_only (FeatureGetterNet: each stage's last block, before the
     * downsample) and the embedding as forward_head(pre_logits=True), the normed class token
     * (tools/parity/volo_backbone.py). The odd fixture has no downsample: pos_embed joins before stage 2.
     */
    @ParameterizedTest
    @ValueSource(strings = {"volo_reduced", "volo_reduced_odd"})
    void backboneOutputsMatchTimm(String fixture) throws Exception {
        Volo.Config cfg = ParityFixture.config(fixture, Volo.Config.class);
        Volo arch = new Volo(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    @Test
    void outputsOnOfferAndTheirLimits() {
        Volo arch = Volo.variant("volo_d1_224");
        assertThat(arch.backbone().describeStages()).isEqualTo("0: 192 ch /8, 1: 384 ch /16, 2: 384 ch /16, 3: 384 ch /16");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices: 0,1,2,3");
        assertThatThrownBy(() -> arch.atSize(256, 256)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pos_embed is 14x14");
    }

    @Test
    void everyVariantHasTheUpstreamParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("volo_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(Volo.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Volo arch = Volo.variant(e.getKey());
            long want = e.getValue().asLong();
            assertThat(arch.config().parameterCount()).as(e.getKey()).isEqualTo(want);
            if (want < 100_000_000L) { // d4 / d5 (193-296 M) only analytically: test heap (-Xmx4g)
                assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(e.getKey())
                        .isEqualTo(want);
            }
        }
    }

    @Test
    void preprocessingFollowsTimmsPretrainedConfig() {
        assertThat(Volo.variant("volo_d1_224").preprocessing()).isEqualTo(Preprocessing.imagenet(224, 0.96, "bicubic"));
        assertThat(Volo.variant("volo_d1_384").preprocessing()).isEqualTo(Preprocessing.imagenet(384, 1.0, "bicubic"));
        assertThat(Volo.variant("volo_d3_448").preprocessing()).isEqualTo(Preprocessing.imagenet(448, 1.0, "bicubic"));
        assertThat(Volo.variant("volo_d4_448").preprocessing()).isEqualTo(Preprocessing.imagenet(448, 1.15, "bicubic"));
        assertThat(Volo.variant("volo_d5_512").preprocessing()).isEqualTo(Preprocessing.imagenet(512, 1.15, "bicubic"));
    }
}
