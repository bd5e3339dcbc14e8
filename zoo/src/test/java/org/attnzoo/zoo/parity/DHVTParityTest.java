package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoint;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.dhvt.DHVT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * DHVT against the authors' code (ArieSeirack/DHVT vision_transformer.py) in float64 on random
 * fp16-exact weights (fixtures from tools/parity/dhvt.py): the SOPE stems of patch 16, 4 and 2,
 * HI-MHSA head tokens, DAFF, with and without qkv bias; a checkpoint as the authors' main.py saves
 * it (model, model_ema, optimizer, args Namespace, ...); every registered variant's parameter count.
 */
class DHVTParityTest {
    @TempDir
    Path tmp;

    static DHVT arch(String fixture) throws Exception {
        DHVT.Config cfg = ParityFixture.config(fixture, DHVT.Config.class);
        return new DHVT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bicubic"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dhvt_reduced", "dhvt_reduced_p4", "dhvt_reduced_p2"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        ParityFixture.check(fixture, arch(fixture), ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    /** main.py's save_on_master checkpoint: the weights under 'model' (its EMA copy under 'model_ema'), args a Namespace. */
    /** The embedding: the normed class token the head reads (forward pre-hook on the authors' head). */
    @ParameterizedTest
    @ValueSource(strings = {"dhvt_reduced", "dhvt_reduced_p4", "dhvt_reduced_p2"})
    void embeddingMatchesTheAuthorsCode(String fixture) throws Exception {
        BackboneFixture.check(fixture, arch(fixture), ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        if (fixture.equals("dhvt_reduced")) {
            BackboneFixture.checkAtSize(fixture, arch(fixture), ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 96);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> arch(fixture).atSize(100, 100)).hasMessageContaining("multiple of the patch size 16");
        }
    }

    @Test
    void aTrainingCheckpointConverts() throws Exception {
        String fixture = "dhvt_reduced_p2";
        Path ckpt = ParityFixture.dir(fixture).resolve("checkpoint.pth");
        try (Checkpoint c = Checkpoints.open(ckpt)) {
            assertThat(c.entry()).isEqualTo("model");
        }
        ParityFixture.check(fixture + " checkpoint.pth", arch(fixture), ckpt, fixture, tmp, ParityFixture.meta(fixture).get("parameters").asLong());
        // the EMA copy, as `convert --key model_ema` takes it (here equal to the model's weights)
        Path onnx = tmp.resolve("ema.onnx");
        ModelBuilder.Built b = ModelBuilder.convert(arch(fixture), ckpt, "model_ema", onnx);
        assertThat(b.parameters()).isEqualTo(ParityFixture.meta(fixture).get("parameters").asLong());
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(ParityFixture.ROOT.resolve("dhvt_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(DHVT.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(Architectures.exists(e.getKey())).as(e.getKey()).isTrue();
            assertThat(ModelBuilder.buildSynthetic(DHVT.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }

    /** Full size with made-up weights: the ONNX checker passes and a batch of two gives finite, distinct logits. */
    @ParameterizedTest
    @ValueSource(strings = {"dhvt_tiny_cifar_patch2", "dhvt_tiny_imagenet_patch16"})
    void fullSizeBuildsAndRuns(String name) throws Exception {
        FullSize.buildsAndRuns(DHVT.variant(name), tmp);
    }
}
