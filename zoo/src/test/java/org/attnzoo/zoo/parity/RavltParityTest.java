package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.ravlt.Ravlt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RAVLT against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/ravlt.py): rank-augmented linear attention and softmax attention with 2-D RoPE
 * (from random `angle` buffers), layer scales; a model without layer scales, mixed flags and odd
 * maps; every registered variant's parameter count.
 */
class RavltParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"ravlt_reduced", "ravlt_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        Ravlt.Config cfg = ParityFixture.config(fixture, Ravlt.Config.class);
        Ravlt arch = new Ravlt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * The authors' main.py loads checkpoints with strict=False, so one without the RoPE angle
     * buffers runs on the constructor's values: so does ours (fixture: every other tensor random,
     * the angle buffers as constructed and left out of the file).
     */
    @Test
    void aCheckpointWithoutRopeAnglesUsesTheConstructorsValues() throws Exception {
        String fixture = "ravlt_reduced_noangle";
        assertThat(ParityFixture.meta(fixture).get("dropped").size()).isEqualTo(4);
        Ravlt.Config cfg = ParityFixture.config(fixture, Ravlt.Config.class);
        Ravlt arch = new Ravlt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("ravlt_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(Ravlt.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(Ravlt.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
