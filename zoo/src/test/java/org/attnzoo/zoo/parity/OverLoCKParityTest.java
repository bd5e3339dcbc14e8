package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.overlock.OverLoCK;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * OverLoCK against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/overlock.py; NATTEN's na2d_av by a stand-in following NATTEN's window rules): the
 * training-time layout with dilated branches and both dynamic stages on maps smaller than their
 * kernels (upstream's bilinear-pad path), and the re-parameterised layout with stage 3 unpadded;
 * every registered variant's parameter count (aux head included, as upstream counts it).
 */
class OverLoCKParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"overlock_reduced", "overlock_reduced_reparam"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        OverLoCK.Config cfg = ParityFixture.config(fixture, OverLoCK.Config.class);
        OverLoCK arch = new OverLoCK(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    @Test
    void contextMixingUsesTheNeighbourhoodDomain() throws Exception {
        OverLoCK arch = OverLoCK.variant("overlock_xt");
        var model = org.attnzoo.sdk.graph.OnnxModel.toProto(ModelBuilder.buildSynthetic(arch, 0).graph());
        long av = model.getGraph().getNodeList().stream()
                .filter(n -> n.getDomain().equals(org.attnzoo.sdk.ops.NeighborhoodAttention.DOMAIN)
                        && n.getOpType().equals(org.attnzoo.sdk.ops.NeighborhoodAttention.avOpType(2)))
                .count();
        // two aggregations (small and large kernel) per dynamic block: 6 + 2 blocks in overlock_xt
        assertThat(av).isEqualTo(2L * (6 + 2));
        assertThat(model.getFunctionsList()).anyMatch(f -> f.getName().equals(org.attnzoo.sdk.ops.NeighborhoodAttention.avOpType(2)));
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("overlock_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(OverLoCK.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(OverLoCK.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
