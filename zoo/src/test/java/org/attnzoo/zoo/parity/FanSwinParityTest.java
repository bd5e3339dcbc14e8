package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.fan.FanSwin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

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
