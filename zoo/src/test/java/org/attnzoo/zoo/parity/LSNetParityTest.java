package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.lsnet.LSNet;
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
 * LSNet against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/lsnet.py, whose SKA stand-in for the Triton kernel is checked there against the
 * kernel's own index arithmetic): RepVGG + SE blocks, LSConv blocks, offset-biased attention, the
 * distillation head averaged in; an empty first stage and odd resolutions down to 1×1; and every
 * registered variant's parameter count.
 */
class LSNetParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"lsnet_reduced", "lsnet_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        LSNet.Config cfg = ParityFixture.config(fixture, LSNet.Config.class);
        LSNet arch = new LSNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    private static LSNet.Config withDistillation(LSNet.Config c, boolean d) {
        return new LSNet.Config(c.imgSize(), c.patchSize(), c.inChans(), c.numClasses(), c.embedDim(), c.keyDim(), c.depth(),
                c.numHeads(), d);
    }

    /**
     * The same backbone is released as lsnet_x (head alone) and lsnet_x_distill (head_dist too), and
     * the authors' main.py loads a plain state dict with strict=False: the checkpoint decides
     * whether head_dist is averaged in, whichever variant config converts it.
     */
    /**
     * Feature maps as the authors' detection backbone returns them (blocks1..4 outputs; the
     * fixtures' 1x1 stage-4 map is where its resampled attention bias equals the classifier's) and
     * the pooled embedding both heads read.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lsnet_reduced", "lsnet_reduced_odd"})
    void backboneOutputsMatchTheAuthorsDetectionBackbone(String fixture) throws Exception {
        LSNet.Config cfg = ParityFixture.config(fixture, LSNet.Config.class);
        LSNet arch = new LSNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    /**
     * Sizes giving the same stage-4 map keep the weights (48x48 against the authors' model built for
     * it); others are refused with the valid range, also for a registered variant (200 to 256 at 224).
     */
    @Test
    void otherSizesOnlyWhereTheAttentionBiasTableFits() throws Exception {
        String fixture = "lsnet_reduced";
        LSNet.Config cfg = ParityFixture.config(fixture, LSNet.Config.class);
        LSNet arch = new LSNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 48);
        assertThatThrownBy(() -> arch.atSize(80, 80)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid sizes: 8 to 64");
        assertThatThrownBy(() -> LSNet.variant("lsnet_t").atSize(288, 288)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("valid sizes: 200 to 256");
        assertThat(LSNet.variant("lsnet_t").atSize(256, 256).inputSize()).containsExactly(3, 256, 256);
    }

    @Test
    void theCheckpointDecidesAboutTheDistillationHead() throws Exception {
        for (String fixture : new String[]{"lsnet_reduced", "lsnet_reduced_odd"}) {
            LSNet.Config c = ParityFixture.config(fixture, LSNet.Config.class);
            LSNet arch = new LSNet(fixture, withDistillation(c, !c.distillation()), Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
            long params = ParityFixture.meta(fixture).get("parameters").asLong();
            ParityFixture.check(fixture + " config distillation=" + !c.distillation(), arch,
                    ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
        }
    }

    /** The authors' load_model deletes attention_bias_idxs (a recomputed index buffer): checkpoints with or without it convert. */
    @Test
    void checkpointsWithoutAttentionBiasIndexesConvert() throws Exception {
        String fixture = "lsnet_reduced";
        LSNet.Config c = ParityFixture.config(fixture, LSNet.Config.class);
        LSNet arch = new LSNet(fixture, c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
        Path p = Layouts.rewrite(fixture, tmp.resolve("no_idxs.safetensors"), m -> {
            assertThat(m.keySet().removeIf(k -> k.endsWith(".attention_bias_idxs"))).isTrue();
        });
        ParityFixture.check(fixture + " without attention_bias_idxs", arch, p, fixture, tmp, ParityFixture.meta(fixture).get("parameters").asLong());
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("lsnet_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(LSNet.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(LSNet.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
