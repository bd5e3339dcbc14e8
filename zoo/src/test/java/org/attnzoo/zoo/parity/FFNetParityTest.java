package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.ffnet.FFNet;
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
 * FFNet against the authors' code in float64 on random fp16-exact weights in the released
 * (training-time) layout (fixtures from tools/parity/ffnet.py): RepVGG 7×7+3×3 pairs, plain
 * depthwise convs, GELU and ReLU stages, SE, layer scales, patch merging; an ffnet_1-like model on
 * odd maps. Each fixture is checked twice: the released-structure graph and the re-parameterised
 * one, which must have fewer nodes and the same outputs. And every variant's parameter count.
 */
class FFNetParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"ffnet_reduced", "ffnet_reduced_odd"})
    void releasedAndReparameterisedGraphsMatchTheAuthorsCode(String fixture) throws Exception {
        FFNet.Config cfg = ParityFixture.config(fixture, FFNet.Config.class);
        FFNet released = new FFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.9, "bicubic"));
        FFNet fused = released.reparameterized();
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        Path ckpt = ParityFixture.dir(fixture).resolve("weights.safetensors");
        ParityFixture.check(fixture + " (released)", released, ckpt, fixture, tmp.resolve("a"), params);
        ParityFixture.check(fixture + " (re-parameterised)", fused, ckpt, fixture, tmp.resolve("b"), params);
        int releasedNodes = ModelBuilder.buildSynthetic(released, 0).graph().nodeCount();
        int fusedNodes = ModelBuilder.buildSynthetic(fused, 0).graph().nodeCount();
        System.out.printf("%s: %d nodes released, %d re-parameterised%n", fixture, releasedNodes, fusedNodes);
        assertThat(fusedNodes).as("re-parameterised nodes vs released").isLessThan(releasedNodes);
    }

    /**
     * Feature maps as the authors' detection backbone returns them (each stage through its norm{i},
     * identity here: the classification checkpoint has none) and the embedding (the pooled final
     * BatchNorm output), from tools/parity/ffnet_backbone.py; released and re-parameterised graphs.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ffnet_reduced", "ffnet_reduced_odd"})
    void backboneOutputsMatchTheAuthorsCode(String fixture) throws Exception {
        FFNet.Config cfg = ParityFixture.config(fixture, FFNet.Config.class);
        FFNet released = new FFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.9, "bicubic"));
        Path ckpt = ParityFixture.dir(fixture).resolve("weights.safetensors");
        BackboneFixture.check(fixture + " (released)", released, ckpt, fixture, tmp);
        BackboneFixture.check(fixture + " (re-parameterised)", released.reparameterized(), ckpt, fixture, tmp);
    }

    /** The same weights at 72x72 (the fixture is 64x64) against the authors' model on a 72x72 input, both graphs. */
    @Test
    void runsAtAnotherSize() throws Exception {
        String fixture = "ffnet_reduced";
        FFNet.Config cfg = ParityFixture.config(fixture, FFNet.Config.class);
        FFNet released = new FFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.9, "bicubic"));
        Path ckpt = ParityFixture.dir(fixture).resolve("weights.safetensors");
        BackboneFixture.checkAtSize(fixture + " (released)", released, ckpt, fixture, tmp, 72);
        BackboneFixture.checkAtSize(fixture + " (re-parameterised)", released.reparameterized(), ckpt, fixture, tmp, 72);
        assertThatThrownBy(() -> released.atSize(64, 72)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    @Test
    void anInvalidOutIndexFailsAtBuildTime() {
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(FFNet.variant("ffnet_1"), 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("ffnet_param_counts.json").toFile());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            for (String name : new String[]{e.getKey(), e.getKey() + "_384"}) {
                if (!FFNet.VARIANTS.containsKey(name)) continue;
                assertThat(ModelBuilder.buildSynthetic(FFNet.variant(name), 0).parameters()).as(name).isEqualTo(e.getValue().asLong());
            }
        }
        assertThat(FFNet.VARIANTS).hasSize(6);
    }
}
