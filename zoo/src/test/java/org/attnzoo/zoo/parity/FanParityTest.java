package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.fan.Fan;
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
 * FAN (ViT and ConvNeXt-hybrid forms) and TAP-FAN against the authors' code (NVlabs/FAN
 * models/fan.py, guoyongcs/TAPADL tap_fan.py) in float64 on random fp16-exact weights (fixtures
 * from tools/parity/fan.py): conv patch embed of patch 16 and 8, odd grid, a width change with its
 * overlapping downsample, class attention with and without tokens_norm, the hybrid ConvNeXt stem,
 * TAP with 4 and 2 scales; and every registered model's parameter count.
 */
class FanParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"fan_vit_reduced", "fan_vit_reduced_odd", "fan_hybrid_reduced", "tap_fan_hybrid_reduced", "tap_fan_vit_reduced"})
    void reducedConfigsMatchTheAuthorsCode(String fixture) throws Exception {
        Fan.Config cfg = ParityFixture.config(fixture, Fan.Config.class);
        Fan arch = new Fan(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * The embedding (the normed class token) for every fixture; for the hybrids also the maps of the
     * authors' segmentation backbone: ConvNeXt stage outputs, the tapped block's output, the patch
     * tokens after class attention (tools/parity/fan_backbone.py).
     */
    @ParameterizedTest
    @ValueSource(strings = {"fan_vit_reduced", "fan_vit_reduced_odd", "fan_hybrid_reduced", "tap_fan_hybrid_reduced", "tap_fan_vit_reduced"})
    void backboneOutputsMatchTheAuthorsCode(String fixture) throws Exception {
        Fan.Config cfg = ParityFixture.config(fixture, Fan.Config.class);
        Fan arch = new Fan(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    /** The same weights at another size (the Fourier positions follow the grid) against the authors' classifier. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"fan_vit_reduced, 80", "fan_hybrid_reduced, 96"})
    void runsAtAnotherSize(String fixture, int size) throws Exception {
        Fan.Config cfg = ParityFixture.config(fixture, Fan.Config.class);
        Fan arch = new Fan(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, size);
        assertThatThrownBy(() -> arch.atSize(size + 8, size + 8)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 16");
    }

    @Test
    void outputsOnOffer() {
        Fan hybrid = Fan.variant("fan_tiny_8_p4_hybrid");
        assertThat(hybrid.backbone().describeStages()).isEqualTo("0: 128 ch /4, 1: 256 ch /8, 2: 192 ch /16, 3: 192 ch /16");
        assertThat(Fan.variant("fan_Xlarge_16_p4_hybrid").backbone().describeStages())
                .isEqualTo("0: 128 ch /4, 1: 256 ch /8, 2: 768 ch /32, 3: 768 ch /32");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(hybrid, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices: 0,1,2,3");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(Fan.variant("fan_tiny_12_p16_224"), 0, ModelOutput.features(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offers no feature maps");
    }

    /**
     * The released .pth.tar layout (timm's CheckpointSaver: 'state_dict' beside a different
     * 'state_dict_ema', the training args as an argparse.Namespace, optimizer state): opened with
     * argparse.Namespace read as inert data (in the default set; refused when the caller asks for no
     * opaque globals at all), converted from 'state_dict' as the authors' load_checkpoint(use_ema=False) does.
     */
    @Test
    void trainingCheckpointLayoutConvertsFromStateDict() throws Exception {
        String fixture = "fan_vit_reduced_odd";
        Fan.Config cfg = ParityFixture.config(fixture, Fan.Config.class);
        Fan arch = new Fan(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 1.0, "bicubic"));
        Path ckpt = ParityFixture.dir(fixture).resolve("checkpoint.pth.tar");
        assertThatThrownBy(() -> Checkpoints.open(ckpt, Checkpoints.Options.defaults().withoutOpaqueGlobals()))
                .hasMessageContaining("argparse.Namespace");
        Path onnx = tmp.resolve("layout.onnx");
        ModelBuilder.Built built;
        try (StateDict sd = Checkpoints.open(ckpt)) { // argparse.Namespace is in the default inert set
            built = ModelBuilder.build(arch, sd);
            OnnxModel.save(built.graph(), onnx);
        }
        assertThat(built.parameters()).isEqualTo(ParityFixture.meta(fixture).get("parameters").asLong());
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(fixture + " (.pth.tar)", s.run(Npy.read(ParityFixture.dir(fixture).resolve("input.npy"))),
                    Npy.read(ParityFixture.dir(fixture).resolve("expected.npy")), 1e-4);
            System.out.printf("parity %s (.pth.tar, state_dict): relative L2 %.2e%n", fixture, rel);
        }
    }

    /** Every name the two model files register is built here, or is an SE model the authors' code cannot run. */
    @Test
    void everyRegisteredNameIsCovered() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("fan_param_counts.json").toFile());
        for (Iterator<String> it = counts.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            if (n.startsWith("_")) continue;
            boolean built = Fan.VARIANTS.containsKey(n) || org.attnzoo.zoo.family.fan.FanSwin.VARIANTS.containsKey(n);
            assertThat(built || n.endsWith("_se_attn")).as(n).isTrue();
        }
        assertThat(counts.get("_se_mlp_forward").asText()).contains("TypeError");
    }

    @Test
    void everyRegisteredModelHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("fan_param_counts.json").toFile());
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!Fan.VARIANTS.containsKey(e.getKey())) continue;
            assertThat(ModelBuilder.buildSynthetic(Fan.variant(e.getKey()), 0).parameters()).as(e.getKey())
                    .isEqualTo(e.getValue().asLong());
            checked++;
        }
        assertThat(checked).isEqualTo(Fan.VARIANTS.size());
    }

    @Test
    void seMlpModelsAreRefusedWithTheReason() {
        Fan.Config c = Fan.VARIANTS.get("fan_small_12_p16_224");
        Fan.Config se = new Fan.Config(c.imgSize(), c.numClasses(), c.patchSize(), c.channelDims(), c.numHeads(), c.mlpRatio(),
                c.qkvBias(), c.tokensNorm(), c.clsAttnLayers(), c.backboneDepths(), c.backboneDims(), 0, true);
        assertThatThrownBy(() -> new Fan("fan_small_12_p16_224_se_attn", se, Preprocessing.imagenet(224, 1.0, "bicubic")))
                .hasMessageContaining("FANBlock_SE");
    }
}
