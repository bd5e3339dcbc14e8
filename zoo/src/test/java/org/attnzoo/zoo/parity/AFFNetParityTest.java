package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoint;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.affnet.AFFNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * AFFNet against the authors' affnet.py (microsoft/TokenMixers) in float64 on random fp16-exact
 * weights (fixtures from tools/parity/affnet.py): the adaptive frequency filter through constant
 * DFT matrices on even and odd maps, both block norms the code offers (layer_norm, layer_norm_2d),
 * ReLU and swish, an active softshrink, AFF layers with and without fusion; every mode's parameter
 * count. The full-size affnet_small check runs when {@code -Dattnzoo.affnet.full=DIR} names a
 * directory written by {@code affnet.py --full DIR}.
 */
class AFFNetParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"affnet_reduced", "affnet_reduced_odd"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        AFFNet.Config cfg = ParityFixture.config(fixture, AFFNet.Config.class);
        AFFNet arch = new AFFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * The layouts the authors' checkpoint code writes: checkpoint_ema_best.pt (a bare state dict, what
     * their load_pretrained_model reads) and the training checkpoint.pt: model_state_dict without a
     * key (as their resume), either entry by key (as {@code convert --key}).
     */
    @ParameterizedTest
    @CsvSource({"checkpoint_ema_best.pt,", "checkpoint.pt,", "checkpoint.pt,model_state_dict", "checkpoint.pt,ema_state_dict"})
    void authorsCheckpointLayoutsConvert(String file, String key) throws Exception {
        String fixture = "affnet_reduced";
        AFFNet.Config cfg = ParityFixture.config(fixture, AFFNet.Config.class);
        AFFNet arch = new AFFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        Path ckpt = ParityFixture.dir(fixture).resolve(file);
        Path onnx = tmp.resolve("model.onnx");
        ModelBuilder.Built built;
        try (Checkpoint sd = key == null ? Checkpoints.open(ckpt) : Checkpoints.open(ckpt, key)) {
            built = ModelBuilder.build(arch, sd);
            OnnxModel.save(built.graph(), onnx);
        }
        assertThat(built.parameters()).isEqualTo(ParityFixture.meta(fixture).get("parameters").asLong());
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(file + "/" + key, s.run(Npy.read(ParityFixture.dir(fixture).resolve("input.npy"))),
                    Npy.read(ParityFixture.dir(fixture).resolve("expected.npy")), 1e-4);
            System.out.printf("parity %s %s: relative L2 %.2e%n", file, key, rel);
        }
    }

    /**
     * Feature maps as the authors' extract_end_points_all returns them (out_l1 .. out_l5) and the
     * embedding (the classifier's mean pool), from tools/parity/affnet_backbone.py.
     */
    @ParameterizedTest
    @ValueSource(strings = {"affnet_reduced", "affnet_reduced_odd"})
    void backboneOutputsMatchTheAuthorsCode(String fixture) throws Exception {
        AFFNet.Config cfg = ParityFixture.config(fixture, AFFNet.Config.class);
        AFFNet arch = new AFFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    /** The same weights at 72x72 (the fixture is 64x64) against the authors' model on a 72x72 input. */
    @Test
    void runsAtAnotherSize() throws Exception {
        String fixture = "affnet_reduced";
        AFFNet.Config cfg = ParityFixture.config(fixture, AFFNet.Config.class);
        AFFNet arch = new AFFNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bilinear"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 72);
        assertThatThrownBy(() -> arch.atSize(64, 72)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    @Test
    void anInvalidOutIndexFailsAtBuildTime() {
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(AFFNet.variant("affnet_xx_small"), 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3,4");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("affnet_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(AFFNet.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(ModelBuilder.buildSynthetic(AFFNet.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
        }
    }

    @Test
    void unknownRunSettingsAreRefusedByName() throws Exception {
        AFFNet.Config c = AFFNet.VARIANTS.get("affnet_small");
        assertThatThrownBy(() -> new AFFNet.Config(c.imgSize(), c.numClasses(), c.layer1(), c.layer2(), c.layer1Blocks(), c.layer2Blocks(),
                c.channels(), c.ffnDims(), c.blocks(), c.fusion(), c.expandRatio(), "gelu", c.attnNorm(), c.sparsityThreshold()))
                .hasMessageContaining("activation 'gelu'").hasMessageContaining("swish");
        assertThatThrownBy(() -> new AFFNet.Config(c.imgSize(), c.numClasses(), c.layer1(), c.layer2(), c.layer1Blocks(), c.layer2Blocks(),
                c.channels(), c.ffnDims(), c.blocks(), c.fusion(), c.expandRatio(), c.activation(), "batch_norm", c.sparsityThreshold()))
                .hasMessageContaining("attnNorm 'batch_norm'");
    }

    @Test
    @EnabledIfSystemProperty(named = "attnzoo.affnet.full", matches = ".+")
    void fullSizeSmallMatchesTheAuthorsCode() throws Exception {
        Path dir = Path.of(System.getProperty("attnzoo.affnet.full")).toAbsolutePath();
        Path onnx = tmp.resolve("full.onnx");
        ModelBuilder.Built built;
        try (Checkpoint sd = Checkpoints.open(dir.resolve("model.safetensors"))) {
            built = ModelBuilder.build(Architectures.get("affnet_small"), sd);
            OnnxModel.save(built.graph(), onnx);
        }
        assertThat(built.parameters()).isEqualTo(5_568_696L);
        OnnxChecker.check(onnx);
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity("affnet_small full", s.run(Npy.read(dir.resolve("input.npy"))), Npy.read(dir.resolve("expected.npy")), 1e-4);
            System.out.printf("parity affnet_small full size: relative L2 %.2e%n", rel);
        }
    }
}
