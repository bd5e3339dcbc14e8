package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto;
import org.attnzoo.sdk.ops.NeighborhoodAttention;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.nat.NAT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * NAT / DiNAT against the authors' model files run in float64 with our pure-PyTorch NATTEN
 * reference as {@code natten} (fixtures from tools/parity/nat.py): reduced configs through the
 * upstream constructors, random fp16-exact weights; and every registered variant's parameter count
 * against the upstream module's.
 */
class NatParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"nat_reduced", "dinat_reduced", "dinat_reduced_k5"})
    void reducedConfigsMatchUpstream(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        JsonNode meta = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        NAT.Config cfg = new ObjectMapper().treeToValue(meta.get("config"), NAT.Config.class);
        NAT arch = new NAT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ModelBuilder.Built built;
        Path onnx = tmp.resolve("model.onnx");
        try (StateDict sd = Checkpoints.open(dir.resolve("weights.safetensors"))) {
            built = ModelBuilder.build(arch, sd);
            OnnxModel.save(built.graph(), onnx); // initializers are views of the open checkpoint
        }
        long params = meta.get("parameters").asLong();
        assertThat(built.parameters()).isEqualTo(params);
        assertThat(cfg.parameterCount()).isEqualTo(params);

        OnnxChecker.check(onnx);
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(onnx));
        long naNodes = m.getGraph().getNodeList().stream()
                .filter(n -> n.getDomain().equals(NeighborhoodAttention.DOMAIN) && n.getOpType().equals("NeighborhoodAttention2D")).count();
        int blocks = 0;
        for (int d : cfg.depths()) blocks += d;
        assertThat(naNodes).isEqualTo(blocks);
        assertThat(m.getFunctionsList()).anyMatch(f -> f.getName().equals("NeighborhoodAttention2D"));

        NdArray x = Npy.read(dir.resolve("input.npy"));
        NdArray want = Npy.read(dir.resolve("expected.npy"));
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(fixture, s.run(x), want, 1e-4);
            System.out.printf("parity %s: relative L2 %.2e (%d params)%n", fixture, rel, params);
        }
    }

    @Test
    void everyVariantHasTheUpstreamParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("nat_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(NAT.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(Architectures.exists(e.getKey())).as(e.getKey()).isTrue();
            assertThat(NAT.variant(e.getKey()).config().parameterCount()).as(e.getKey()).isEqualTo(e.getValue().asLong());
        }
    }

    @Test
    void dinatMiniBuildsAtFullSizeWithTheUpstreamCount() {
        ModelBuilder.Built built = ModelBuilder.buildSynthetic(Architectures.get("dinat_mini"), 1);
        assertThat(built.parameters()).isEqualTo(19_984_174L);
    }
}
