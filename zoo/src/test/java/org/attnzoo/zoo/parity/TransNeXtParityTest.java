package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.transnext.TransNeXt;
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
 * TransNeXt against the authors' code (pure-PyTorch aggregated attention) in float64 on random
 * fp16-exact weights (fixtures from tools/parity/transnext.py): a micro-like reduced model (three
 * aggregated stages, a full-attention stage) and a fine-tune-like one (image larger than the
 * pretrain size, window 5, no qkv bias, adaptive-pool bins that overlap, aggregated attention in
 * all four stages); and every named variant's parameter count.
 */
class TransNeXtParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"transnext_reduced", "transnext_reduced_ft"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        TransNeXt.Config cfg = ParityFixture.config(fixture, TransNeXt.Config.class);
        TransNeXt arch = new TransNeXt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps as the authors' detection backbone returns them (stage tokens after norm{i+1};
     * for the A-A-A-A fixture, which that class cannot run, the classifier's norm outputs) and the
     * embedding the head reads.
     */
    @ParameterizedTest
    @ValueSource(strings = {"transnext_reduced", "transnext_reduced_ft"})
    void backboneOutputsMatchTheAuthorsDetectionBackbone(String fixture) throws Exception {
        TransNeXt.Config cfg = ParityFixture.config(fixture, TransNeXt.Config.class);
        TransNeXt arch = new TransNeXt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    /** The same weights at 96x96 (the authors' model built with img_size 96, pretrain size kept); sizes it cannot take. */
    @Test
    void otherSizesMatchTheAuthorsModelBuiltForThem() throws Exception {
        String fixture = "transnext_reduced";
        TransNeXt.Config cfg = ParityFixture.config(fixture, TransNeXt.Config.class);
        TransNeXt arch = new TransNeXt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 96);
        assertThatThrownBy(() -> arch.atSize(80, 80)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 32");
        assertThatThrownBy(() -> TransNeXt.variant("transnext_micro_AAAA").atSize(32, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 64");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("transnext_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(TransNeXt.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            TransNeXt arch = TransNeXt.variant(e.getKey());
            assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(e.getKey()).isEqualTo(e.getValue().asLong());
        }
    }
}
