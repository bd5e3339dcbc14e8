package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoint;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.eurosat.EuroSatBalanced;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The EuroSAT balanced multi-task attention CNN against the authors' code
 * (models/balanced_12layer.py) in float64 on random fp16-exact weights (fixtures from
 * tools/parity/eurosat.py: the authors' Balanced12LayerCNN forward over smaller instances of their
 * own blocks): coordinate attention, squeeze-excitation, their sigmoid(alpha) mix, shortcut convs,
 * odd maps; a plain torch.save(model.state_dict()) checkpoint (0-dim alpha); the parameter count.
 */
class EuroSatParityTest {
    @TempDir
    Path tmp;

    static EuroSatBalanced arch(String fixture) throws Exception {
        EuroSatBalanced.Config cfg = ParityFixture.config(fixture, EuroSatBalanced.Config.class);
        return new EuroSatBalanced(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"eurosat_reduced", "eurosat_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        ParityFixture.check(fixture, arch(fixture), ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    /** The repository has no training script; its README trains in a user loop, so a checkpoint is torch.save(model.state_dict()). */
    /** Stage outputs and the vector fc reads, against forward hooks on the authors' modules; eurosat_reduced also at 32x32. */
    @ParameterizedTest
    @ValueSource(strings = {"eurosat_reduced", "eurosat_reduced_odd"})
    void backboneOutputsMatchTheAuthorsCode(String fixture) throws Exception {
        EuroSatBalanced arch = arch(fixture);
        Path w = ParityFixture.dir(fixture).resolve("weights.safetensors");
        BackboneFixture.check(fixture, arch, w, fixture, tmp);
        if (fixture.equals("eurosat_reduced")) BackboneFixture.checkAtSize(fixture, arch, w, fixture, tmp, 32);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> org.attnzoo.zoo.arch.ModelBuilder.buildSynthetic(arch, 0,
                org.attnzoo.zoo.arch.ModelOutput.features(4))).hasMessageContaining("valid out-indices: 0,1,2,3");
    }

    @Test
    void aPlainStateDictCheckpointConverts() throws Exception {
        String fixture = "eurosat_reduced_odd";
        Path ckpt = ParityFixture.dir(fixture).resolve("checkpoint.pth");
        try (Checkpoint c = Checkpoints.open(ckpt)) {
            assertThat(c.get("stage1.0.attention.alpha").shape()).isEmpty();
        }
        ParityFixture.check(fixture + " checkpoint.pth", arch(fixture), ckpt, fixture, tmp, ParityFixture.meta(fixture).get("parameters").asLong());
    }

    @Test
    void theRegisteredModelHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(ParityFixture.ROOT.resolve("eurosat_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(EuroSatBalanced.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(Architectures.exists(e.getKey())).isTrue();
            assertThat(ModelBuilder.buildSynthetic(EuroSatBalanced.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }

    /** Full size with made-up weights: the ONNX checker passes and a batch of two gives finite, distinct logits. */
    @ParameterizedTest
    @ValueSource(strings = {"eurosat_balanced_12layer"})
    void fullSizeBuildsAndRuns(String name) throws Exception {
        FullSize.buildsAndRuns(EuroSatBalanced.variant(name), tmp);
    }
}
