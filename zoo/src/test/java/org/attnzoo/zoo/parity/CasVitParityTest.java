package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.WeightMismatchException;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.casvit.CasVit;
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
 * CAS-ViT against the authors' code in float64 on random fp16-exact weights (fixtures from
 * tools/parity/casvit.py): additive token mixers, local integration, the distillation head
 * averaged in; a model without the distillation head on odd maps; every registered variant's
 * parameter count.
 */
class CasVitParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"casvit_reduced", "casvit_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        CasVit.Config cfg = ParityFixture.config(fixture, CasVit.Config.class);
        CasVit arch = new CasVit(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Feature maps as the authors' fork_feat RCViT (detection/segmentation) returns them: each
     * stage before the next downsampling through its norm0/2/4/6 BatchNorm at PyTorch's initial
     * state; the embedding both heads read.
     */
    @ParameterizedTest
    @ValueSource(strings = {"casvit_reduced", "casvit_reduced_odd"})
    void backboneOutputsMatchTheAuthorsDetectionBackbone(String fixture) throws Exception {
        CasVit.Config cfg = ParityFixture.config(fixture, CasVit.Config.class);
        CasVit arch = new CasVit(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(arch, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices");
    }

    /** The same weights at 80x80 (fully convolutional). */
    @Test
    void anotherSizeMatchesTheAuthorsModel() throws Exception {
        String fixture = "casvit_reduced";
        CasVit.Config cfg = ParityFixture.config(fixture, CasVit.Config.class);
        CasVit arch = new CasVit(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 80);
        assertThatThrownBy(() -> arch.atSize(80, 96)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    /**
     * The authors' main.py builds with {@code distillation=False}: the checkpoints it writes have
     * {@code head} alone. Such a checkpoint converts with the registered variants' config (whose
     * {@code distillation} is the constructor's default, true), and computes what the authors'
     * model without dist_head computes.
     */
    @Test
    void aCheckpointWithoutDistHeadUsesHeadAlone() throws Exception {
        String fixture = "casvit_reduced_odd";
        CasVit.Config c = ParityFixture.config(fixture, CasVit.Config.class);
        assertThat(c.distillation()).isFalse();
        CasVit.Config registeredLike = new CasVit.Config(c.imgSize(), c.numClasses(), c.layers(), c.embedDims(), c.mlpRatio(), true);
        CasVit arch = new CasVit(fixture, registeredLike, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture + " as rcvit config", arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
        // and as DataParallel saved it, with num_batches_tracked buffers
        Path wrapped = Layouts.rewrite(fixture, tmp.resolve("module.safetensors"), m -> {
            java.util.List<String> bns = m.keySet().stream().filter(k -> k.endsWith(".running_var")).toList();
            for (String k : bns) m.put(k.replace(".running_var", ".num_batches_tracked"), Layouts.counting());
            Layouts.prefixed("module.").accept(m);
        });
        ParityFixture.check(fixture + " module.", arch, wrapped, fixture, tmp, params);
    }

    /** A checkpoint with dist_head averages both heads, whatever the config says. */
    @Test
    void aCheckpointWithDistHeadAveragesBothHeads() throws Exception {
        String fixture = "casvit_reduced";
        CasVit.Config c = ParityFixture.config(fixture, CasVit.Config.class);
        assertThat(c.distillation()).isTrue();
        CasVit.Config noDist = new CasVit.Config(c.imgSize(), c.numClasses(), c.layers(), c.embedDims(), c.mlpRatio(), false);
        CasVit arch = new CasVit(fixture, noDist, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture + " config without distillation", arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /** Half a distillation head is an error naming the missing key, not a silent head-only model. */
    @Test
    void halfADistHeadIsReported() throws Exception {
        CasVit.Config c = ParityFixture.config("casvit_reduced", CasVit.Config.class);
        CasVit arch = new CasVit("casvit_reduced", c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic"));
        Path p = Layouts.rewrite("casvit_reduced", tmp.resolve("half.safetensors"), m -> m.remove("dist_head.bias"));
        assertThatThrownBy(() -> {
            try (StateDict sd = Checkpoints.open(p)) {
                ModelBuilder.build(arch, sd);
            }
        }).isInstanceOf(WeightMismatchException.class).hasMessageContaining("1 problem").hasMessageContaining("missing key dist_head.bias");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("casvit_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(CasVit.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(CasVit.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }
}
