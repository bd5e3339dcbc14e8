package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoint;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.sparsifiner.Sparsifiner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sparsifiner against the authors' code (lim142857/Sparsifiner src/models/sparsifiner.py) in
 * float64 on random fp16-exact weights (fixtures from tools/parity/sparsifiner.py, checked there to
 * have no tie at either top-k boundary): top-k basis coefficients, thresholded basis, top-k
 * attention connectivity with per-block keep rates; a shared in/out token projection without qkv
 * bias; a checkpoint as the authors' utils.save_model writes it; the registered model's parameter count.
 */
class SparsifinerParityTest {
    @TempDir
    Path tmp;

    static Sparsifiner arch(String fixture) throws Exception {
        Sparsifiner.Config cfg = ParityFixture.config(fixture, Sparsifiner.Config.class);
        return new Sparsifiner(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sparsifiner_reduced", "sparsifiner_reduced_shared"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        ParityFixture.check(fixture, arch(fixture), ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    /** utils.save_model's checkpoint: 'model' (and 'model_ema'), with optimizer, scaler, args Namespace, best accuracies. */
    /** The embedding: the normed class token the head reads (forward pre-hook on the authors' head). */
    @ParameterizedTest
    @ValueSource(strings = {"sparsifiner_reduced", "sparsifiner_reduced_shared"})
    void embeddingMatchesTheAuthorsCode(String fixture) throws Exception {
        BackboneFixture.check(fixture, arch(fixture), ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    @Test
    void aTrainingCheckpointConverts() throws Exception {
        String fixture = "sparsifiner_reduced_shared";
        Path ckpt = ParityFixture.dir(fixture).resolve("checkpoint.pth");
        try (Checkpoint c = Checkpoints.open(ckpt)) {
            assertThat(c.entry()).isEqualTo("model");
            assertThat(c.keys()).anyMatch(k -> k.endsWith("mask_predictor.proj_back_n"));
        }
        ParityFixture.check(fixture + " checkpoint.pth", arch(fixture), ckpt, fixture, tmp, ParityFixture.meta(fixture).get("parameters").asLong());
    }

    @Test
    void theRegisteredModelHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(ParityFixture.ROOT.resolve("sparsifiner_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(Sparsifiner.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(Architectures.exists(e.getKey())).isTrue();
            assertThat(ModelBuilder.buildSynthetic(Sparsifiner.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }

    /** Full size with made-up weights: the ONNX checker passes and a batch of two gives finite, distinct logits. */
    @ParameterizedTest
    @ValueSource(strings = {"sparsifiner"})
    void fullSizeBuildsAndRuns(String name) throws Exception {
        FullSize.buildsAndRuns(Sparsifiner.variant(name), tmp);
    }
}
