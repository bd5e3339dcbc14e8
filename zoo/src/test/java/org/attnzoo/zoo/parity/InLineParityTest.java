package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.inline.InLineDeiT;
import org.attnzoo.zoo.family.inline.InLinePVT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * InLine attention against the authors' code in float64 on random fp16-exact weights (fixtures
 * from tools/parity/inline.py): InLine-DeiT (class token excluded from the local residual) and
 * InLine-PVT (four stages, separate q / kv projections); every DeiT and PVT variant's parameter
 * count.
 */
class InLineParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @Test
    void deitMatchesTheAuthorsCode() throws Exception {
        String fx = "inline_deit_reduced";
        InLineDeiT.Config cfg = ParityFixture.config(fx, InLineDeiT.Config.class);
        InLineDeiT arch = new InLineDeiT(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }

    @Test
    void pvtMatchesTheAuthorsCode() throws Exception {
        String fx = "inline_pvt_reduced";
        InLinePVT.Config cfg = ParityFixture.config(fx, InLinePVT.Config.class);
        InLinePVT arch = new InLinePVT(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("inline_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(InLineDeiT.VARIANTS.size() + InLinePVT.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Architecture arch = e.getKey().startsWith("inline_deit") ? InLineDeiT.variant(e.getKey()) : InLinePVT.variant(e.getKey());
            assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(e.getKey()).isEqualTo(e.getValue().asLong());
        }
    }
}
