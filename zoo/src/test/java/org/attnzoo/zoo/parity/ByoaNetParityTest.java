package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.byoanet.ByoaNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * timm's byoanet models (HaloNet, BoTNet, Lambda ResNets) against timm's float64 outputs on
 * random fp16-exact weights (fixtures from tools/parity/byoanet.py, reduced ByoModelCfgs through
 * timm's ByobNet): halo blocks with query striding, with the avg-pool stride path, with qkv bias,
 * windows larger than the map; bottleneck attention with stride; lambda layers with the r×r
 * position conv and with the relative-position table; SE and ECA bottlenecks; tiered, 7×7 and 3×3
 * stems; no-shortcut and linear-out blocks; one model at two input sizes. And every timm variant's
 * resolved configuration, parameter count and preprocessing.
 */
class ByoaNetParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"byoanet_halo", "byoanet_halo_128", "byoanet_regnet", "byoanet_lambda_bot"})
    void reducedConfigsMatchTimm(String fixture) throws Exception {
        ByoaNet.Config cfg = ParityFixture.config(fixture, ByoaNet.Config.class);
        ByoaNet arch = new ByoaNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /**
     * Large halo layers run their logits, softmax and value product in groups of query blocks
     * (about 2 MiB of logits each; the reduced fixtures are smaller than that, so here the group
     * size is forced down to one block): the same outputs, and more Softmax nodes in the graph.
     */
    @ParameterizedTest
    @ValueSource(strings = {"byoanet_halo", "byoanet_halo_128", "byoanet_regnet"})
    void haloAttentionInGroupsOfBlocksMatchesTimm(String fixture) throws Exception {
        ByoaNet.Config cfg = ParityFixture.config(fixture, ByoaNet.Config.class);
        ByoaNet arch = new ByoaNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        long whole = softmaxNodes(ModelBuilder.buildSynthetic(arch, 0));
        String key = "attnzoo.halo.chunk_bytes", before = System.getProperty(key);
        System.setProperty(key, "1");
        try {
            long grouped = softmaxNodes(ModelBuilder.buildSynthetic(arch, 0));
            assertThat(grouped).as("Softmax nodes, grouped vs whole").isGreaterThan(whole);
            ParityFixture.check(fixture + " (grouped)", arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                    ParityFixture.meta(fixture).get("parameters").asLong());
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }

    private static long softmaxNodes(ModelBuilder.Built b) {
        return org.attnzoo.sdk.graph.OnnxModel.toProto(b.graph()).getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("Softmax")).count();
    }

    /**
     * Feature maps (timm's features_only over ByobNet's feature_info: the stem's inner stride-2 map,
     * the map entering each strided stage, final_conv) and the embedding (forward_head(pre_logits=True)),
     * from tools/parity/byoanet_backbone.py.
     */
    @ParameterizedTest
    @ValueSource(strings = {"byoanet_halo", "byoanet_regnet", "byoanet_lambda_bot"})
    void backboneOutputsMatchTimm(String fixture) throws Exception {
        ByoaNet.Config cfg = ParityFixture.config(fixture, ByoaNet.Config.class);
        ByoaNet arch = new ByoaNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    /**
     * atSize: the halo/avg-pool model at 96x96 (fixture 48x48) against timm built for 96 on the same
     * weights; the halo model at 128 is the configuration of the 128 fixture; sizes a halo block
     * does not divide, and any other size for a model with bottleneck attention or a relative-position
     * lambda, are refused naming the block and the rule.
     */
    @Test
    void runsAtOtherSizesWhereItsLayersAllow() throws Exception {
        String fixture = "byoanet_regnet";
        ByoaNet.Config cfg = ParityFixture.config(fixture, ByoaNet.Config.class);
        ByoaNet arch = new ByoaNet(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.95, "bicubic"));
        BackboneFixture.checkAtSize(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, 96);
        assertThatThrownBy(() -> arch.atSize(64, 64)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stages.1.1").hasMessageContaining("multiple of its block size 3").hasMessageContaining("e.g. 48x48 or 96x96");

        ByoaNet.Config halo = ParityFixture.config("byoanet_halo", ByoaNet.Config.class);
        ByoaNet halo64 = new ByoaNet("byoanet_halo", halo, Preprocessing.imagenet(halo.imgSize(), 0.95, "bicubic"));
        assertThat(halo64.atSize(128, 128).config()).isEqualTo(ParityFixture.config("byoanet_halo_128", ByoaNet.Config.class));

        ByoaNet.Config lb = ParityFixture.config("byoanet_lambda_bot", ByoaNet.Config.class);
        ByoaNet lambdaBot = new ByoaNet("byoanet_lambda_bot", lb, Preprocessing.imagenet(lb.imgSize(), 0.95, "bicubic"));
        assertThatThrownBy(() -> lambdaBot.atSize(128, 128)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stages.2.1").hasMessageContaining("relative position table");
        assertThatThrownBy(() -> ByoaNet.variant("botnet26t_256", 512)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bottleneck attention");
        assertThatThrownBy(() -> arch.atSize(96, 64)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("square");
    }

    @Test
    void anInvalidOutIndexFailsAtBuildTime() {
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(ByoaNet.variant("halonet26t"), 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3,4");
    }

    @Test
    void everyVariantResolvesAsTimmDoesAndHasItsParameterCount() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode all = json.readTree(FIXTURES.resolve("byoanet_variants.json").toFile());
        List<String> names = new ArrayList<>();
        all.fieldNames().forEachRemaining(names::add);
        assertThat(ByoaNet.VARIANTS.keySet()).containsExactlyInAnyOrderElementsOf(names);
        for (Iterator<Map.Entry<String, JsonNode>> it = all.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            ByoaNet arch = ByoaNet.variant(name);
            assertThat(arch.config()).as(name).isEqualTo(json.treeToValue(e.getValue().get("config"), ByoaNet.Config.class));
            JsonNode pre = e.getValue().get("preprocessing");
            Preprocessing p = arch.preprocessing();
            assertThat(p.height()).as(name).isEqualTo(pre.get("input_size").asInt());
            assertThat(p.cropPct()).as(name).isEqualTo(pre.get("crop_pct").asDouble());
            assertThat(p.interpolation()).as(name).isEqualTo(pre.get("interpolation").asText());
            assertThat(p.mean()).as(name).containsExactly(json.treeToValue(pre.get("mean"), double[].class));
            assertThat(p.std()).as(name).containsExactly(json.treeToValue(pre.get("std"), double[].class));
            assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(name)
                    .isEqualTo(e.getValue().get("parameters").asLong());
        }
    }

    @Test
    void haloModelsBuildAtOtherSizesAndRefuseSizesTheirBlocksDoNotDivide() throws Exception {
        assertThat(ModelBuilder.buildSynthetic(ByoaNet.variant("halonet26t", 512), 0).parameters()).isEqualTo(12_480_288L);
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(ByoaNet.variant("halonet26t", 384), 0))
                .hasMessageContaining("multiple of its block size 8").hasMessageContaining("stages.3.1");
    }
}
