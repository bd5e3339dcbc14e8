package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.ravlt.Ravlt;
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
     * Feature maps as the authors' detection/segmentation backbone GLTA returns them (each layer's
     * output before its patch merging through extra_norms[i] LayerNorm2d at PyTorch's initial state;
     * the fixture comes from GLTA itself), and the pooled projection the head reads.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ravlt_reduced", "ravlt_reduced_odd"})
    void backboneOutputsMatchTheAuthorsDetectionBackbone(String fixture) throws Exception {
        Ravlt.Config cfg = ParityFixture.config(fixture, Ravlt.Config.class);
        Ravlt arch = new Ravlt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    /** The same weights at 80x80 (padded convs; RoPE tables for the maps met: 20, 10, 5, 3). */
    @Test
    void anotherSizeMatchesTheAuthorsModel() throws Exception {
        String fixture = "ravlt_reduced";
        Ravlt.Config cfg = ParityFixture.config(fixture, Ravlt.Config.class);
        Ravlt arch = new Ravlt(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 80);
        assertThatThrownBy(() -> arch.atSize(80, 96)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
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
