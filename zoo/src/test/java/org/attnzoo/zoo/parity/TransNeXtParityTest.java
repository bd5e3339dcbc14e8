package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.transnext.TransNeXt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

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
