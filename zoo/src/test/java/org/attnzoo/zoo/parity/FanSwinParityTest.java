package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.fan.FanSwin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * FAN-Swin against the authors' models/swin_utils.py (NVlabs/FAN) in float64 on random fp16-exact
 * weights (fixture from tools/parity/fan.py): ChannelProcessing stages with shifted windows, a
 * stage whose map equals the window, a timm-Mlp stage; every registered FAN-Swin / TAP-FAN-Swin
 * model's parameter count.
 */
class FanSwinParityTest {
    @TempDir
    Path tmp;

    @Test
    void reducedConfigMatchesTheAuthorsCode() throws Exception {
        String fixture = "fan_swin_reduced";
        FanSwin.Config cfg = ParityFixture.config(fixture, FanSwin.Config.class);
        FanSwin arch = new FanSwin(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.9, "bicubic"));
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    /**
     * Stage maps as the authors' segmentation FANSwinTransformer returns them (norm<i> of each stage
     * output before PatchMerging, norm<i> at init) and the pooled embedding (tools/parity/fan_backbone.py).
     */
    @Test
    void backboneOutputsMatchTheAuthorsBackbone() throws Exception {
        String fixture = "fan_swin_reduced";
        FanSwin.Config cfg = ParityFixture.config(fixture, FanSwin.Config.class);
        FanSwin arch = new FanSwin(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.9, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        // its last stage's 2x2 map is its own window (a 3x3 bias table): no other size fits these weights
        assertThatThrownBy(() -> arch.atSize(128, 128)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stage 3").hasMessageContaining("exactly 2x2");
    }

    @Test
    void outputsAndSizesOnOffer() {
        FanSwin tiny = FanSwin.variant("fan_swin_tiny_patch4_window7_224");
        assertThat(tiny.backbone().describeStages()).isEqualTo("0: 96 ch /4, 1: 192 ch /8, 2: 384 ch /16, 3: 768 ch /32");
        assertThat(tiny.atSize(448, 448).inputSize()).containsExactly(3, 448, 448);
        assertThatThrownBy(() -> tiny.atSize(256, 256)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 7");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(tiny, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices: 0,1,2,3");
    }

    /**
     * Every FAN-Swin name's count equals the authors'. TAPADL's tap_fan_swin_* are the same
     * architectures (same config here, same count upstream), so each is built once.
     */
    @Test
    void everyRegisteredModelHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FanParityTest.FIXTURES.resolve("fan_param_counts.json").toFile());
        java.util.Map<String, Long> built = new java.util.HashMap<>();
        for (String name : FanSwin.VARIANTS.keySet()) {
            assertThat(counts.has(name)).as(name).isTrue();
            String base = name.startsWith("tap_") ? name.substring(4) : name;
            FanSwin.Config c = FanSwin.VARIANTS.get(name), b = FanSwin.VARIANTS.get(base);
            assertThat(c).usingRecursiveComparison().as(name).isEqualTo(b);
            long n = built.computeIfAbsent(base, k -> ModelBuilder.buildSynthetic(FanSwin.variant(k), 0).parameters());
            assertThat(n).as(name).isEqualTo(counts.get(name).asLong());
        }
    }
}
