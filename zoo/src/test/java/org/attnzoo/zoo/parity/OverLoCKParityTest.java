package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.converters.StateDicts;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.overlock.OverLoCK;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    /**
     * Feature maps of the authors' segmentation backbone (segmentation/models/overlock.py: stage 1, 2,
     * stage 3 with its context, stage 4 with its context, each through extra_norm.{i}) and the
     * embedding the classifier conv reads (tools/parity/overlock_backbone.py); then the model at
     * another size (odd stage maps at 80) against the authors' classifier at that size.
     */
    @ParameterizedTest
    @CsvSource({"overlock_reduced,80", "overlock_reduced_reparam,96"})
    void backboneOutputsMatchTheAuthorsSegmentationBackbone(String fixture, int size) throws Exception {
        OverLoCK.Config cfg = ParityFixture.config(fixture, OverLoCK.Config.class);
        OverLoCK arch = new OverLoCK(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        Path ckpt = ParityFixture.dir(fixture).resolve("weights.safetensors");
        BackboneFixture.check(fixture, arch, ckpt, fixture, tmp);
        BackboneFixture.checkAtSize(fixture, arch, ckpt, fixture, tmp, size);
    }

    /**
     * A detection checkpoint (the fixture's weights plus h_proj.* and extra_norm.4.*, random): the
     * last map gains the detection class's h_proj(extra_norm.4(context)) term
     * (detection/models/overlock.py; detection_features_3.npy from tools/parity/overlock_backbone.py).
     */
    @Test
    void detectionCheckpointAddsTheContextProjectionToTheLastMap() throws Exception {
        String fixture = "overlock_reduced";
        Path dir = ParityFixture.dir(fixture);
        OverLoCK.Config cfg = ParityFixture.config(fixture, OverLoCK.Config.class);
        OverLoCK arch = new OverLoCK(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        Path onnx = tmp.resolve("det.onnx");
        try (StateDict base = Checkpoints.open(dir.resolve("weights.safetensors"));
             StateDict extra = Checkpoints.open(dir.resolve("detection_extras.safetensors"))) {
            Map<String, TensorData> all = new LinkedHashMap<>(StateDicts.toMap(base));
            all.putAll(StateDicts.toMap(extra));
            OnnxModel.save(ModelBuilder.build(arch, StateDicts.of("detection checkpoint", all), ModelOutput.features(3)).graph(), onnx);
        }
        try (OnnxSession s = OnnxSession.open(onnx)) {
            NdArray got = s.run(Map.of(ModelBuilder.INPUT, Npy.read(dir.resolve("input.npy")))).get(ModelOutput.FEATURE_PREFIX + 3);
            NdArray want = Npy.read(dir.resolve("detection_features_3.npy"));
            assertThat(got.shape()).containsExactly(want.shape());
            double rel = Parity.relativeL2(got.data(), want.data());
            assertThat(rel).isLessThan(1e-4);
            System.out.printf("parity %s detection features.3: relative L2 %.2e%n", fixture, rel);
        }
    }

    @Test
    void outIndicesAndSizesOutOfRangeAreRefused() {
        var a = org.attnzoo.zoo.arch.Architectures.get("overlock_xt");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(a, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
        assertThatThrownBy(() -> a.atSize(16, 16)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 32x32");
        assertThatThrownBy(() -> a.atSize(224, 256)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
        assertThat(a.atSize(256, 256).inputSize()).containsExactly(3, 256, 256);
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
