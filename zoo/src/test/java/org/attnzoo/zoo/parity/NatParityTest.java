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
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.nat.DiNATs;
import org.attnzoo.zoo.family.nat.IsotropicNAT;
import org.attnzoo.zoo.family.nat.NAT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * NAT / DiNAT, DiNAT-s and the isotropic NAT / DiNAT / ViT-rpb models against the authors' model files run in float64 with our pure-PyTorch NATTEN
 * reference as {@code natten} (fixtures from tools/parity/nat.py): reduced configs through the
 * upstream constructors, random fp16-exact weights; and every registered variant's parameter count
 * against the upstream module's.
 */
class NatParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    /** The architecture a fixture's config.json describes ("arch": NAT (default), DiNATs or IsotropicNAT). */
    record Fixture(Architecture arch, int naLayers, boolean global) {
    }

    static Fixture fixture(String name, JsonNode meta) throws Exception {
        ObjectMapper om = new ObjectMapper();
        String kind = meta.has("arch") ? meta.get("arch").asText() : "NAT";
        switch (kind) {
            case "NAT" -> {
                NAT.Config c = om.treeToValue(meta.get("config"), NAT.Config.class);
                return new Fixture(new NAT(name, c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic")), sum(c.depths()), false);
            }
            case "DiNATs" -> {
                DiNATs.Config c = om.treeToValue(meta.get("config"), DiNATs.Config.class);
                assertThat(c.parameterCount()).isEqualTo(meta.get("parameters").asLong());
                return new Fixture(new DiNATs(name, c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic")), sum(c.depths()), false);
            }
            case "IsotropicNAT" -> {
                IsotropicNAT.Config c = om.treeToValue(meta.get("config"), IsotropicNAT.Config.class);
                assertThat(c.parameterCount()).isEqualTo(meta.get("parameters").asLong());
                return new Fixture(new IsotropicNAT(name, c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic")),
                        c.global() ? 0 : c.depth(), c.global());
            }
            default -> throw new IllegalArgumentException(kind);
        }
    }

    static int sum(int[] xs) {
        int n = 0;
        for (int x : xs) n += x;
        return n;
    }

    static long upstreamCount(Architecture a) {
        if (a instanceof NAT n) return n.config().parameterCount();
        if (a instanceof DiNATs d) return d.config().parameterCount();
        if (a instanceof IsotropicNAT i) return i.config().parameterCount();
        throw new IllegalArgumentException(a.name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"nat_reduced", "dinat_reduced", "dinat_reduced_k5", "dinat_s_reduced", "dinat_isotropic_reduced",
            "vitrpb_reduced"})
    void reducedConfigsMatchUpstream(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        JsonNode meta = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        Fixture fx = fixture(fixture, meta);
        ModelBuilder.Built built;
        Path onnx = tmp.resolve("model.onnx");
        try (StateDict sd = Checkpoints.open(dir.resolve("weights.safetensors"))) {
            built = ModelBuilder.build(fx.arch(), sd);
            OnnxModel.save(built.graph(), onnx); // initializers are views of the open checkpoint
            if (fx.global()) {
                // our recomputed bias index equals the authors' (flipped) relative_position_index buffer
                int side = ((IsotropicNAT) fx.arch()).config().featureMapSize();
                assertThat(sd.get("layers.0.attn.relative_position_index").toLongArray()).containsExactly(IsotropicNAT.rpbIndex(side));
            }
        }
        long params = meta.get("parameters").asLong();
        assertThat(built.parameters()).isEqualTo(params);
        assertThat(upstreamCount(fx.arch())).isEqualTo(params);

        OnnxChecker.check(onnx);
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(onnx));
        long naNodes = m.getGraph().getNodeList().stream()
                .filter(n -> n.getDomain().equals(NeighborhoodAttention.DOMAIN) && n.getOpType().equals("NeighborhoodAttention2D")).count();
        assertThat(naNodes).isEqualTo(fx.naLayers());
        if (fx.naLayers() > 0) assertThat(m.getFunctionsList()).anyMatch(f -> f.getName().equals("NeighborhoodAttention2D"));

        NdArray x = Npy.read(dir.resolve("input.npy"));
        NdArray want = Npy.read(dir.resolve("expected.npy"));
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(fixture, s.run(x), want, 1e-4);
            System.out.printf("parity %s: relative L2 %.2e (%d params)%n", fixture, rel, params);
        }
    }

    /**
     * Embedding (the classifier's forward_features) and, for the hierarchical models, the feature
     * maps of the authors' detection backbones (detection/nat.py, dinat.py, dinats.py: each level
     * before its downsample, through norm{i}), from tools/parity/nat_backbone.py.
     */
    @ParameterizedTest
    @ValueSource(strings = {"nat_reduced", "dinat_reduced", "dinat_reduced_k5", "dinat_s_reduced", "dinat_isotropic_reduced",
            "vitrpb_reduced"})
    void backboneOutputsMatchTheAuthorsBackbones(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        Fixture fx = fixture(fixture, new ObjectMapper().readTree(dir.resolve("config.json").toFile()));
        BackboneFixture.check(fixture, fx.arch(), dir.resolve("weights.safetensors"), fixture, tmp);
    }

    /** NAT / DiNAT / DiNAT-s / DiNAT-iso at another size (same weights) against the authors' classifier at that size. */
    @ParameterizedTest
    @CsvSource({"nat_reduced,40", "dinat_reduced,56", "dinat_reduced_k5,72", "dinat_s_reduced,58", "dinat_isotropic_reduced,128"})
    void hierarchicalModelsRunAtOtherSizes(String fixture, int size) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        Fixture fx = fixture(fixture, new ObjectMapper().readTree(dir.resolve("config.json").toFile()));
        BackboneFixture.checkAtSize(fixture, fx.arch(), dir.resolve("weights.safetensors"), fixture, tmp, size);
    }

    /** norm0 / norm1 of a detection checkpoint are read (not the initial LayerNorm). */
    @Test
    void detectionCheckpointNormsAreRead() throws Exception {
        Path dir = FIXTURES.resolve("nat_reduced");
        Fixture fx = fixture("nat_reduced", new ObjectMapper().readTree(dir.resolve("config.json").toFile()));
        checkpointNormsAreRead(fx.arch(), dir, new String[]{"norm0", "norm1"}, new int[]{16, 32}, tmp);
    }

    /**
     * A checkpoint that holds the backbone's own per-output norms (weight 2, bias 0.5 under
     * {@code names}) is read: each feature map is then 2 x the fixture's (initial-norm) map + 0.5.
     */
    static void checkpointNormsAreRead(Architecture arch, Path dir, String[] names, int[] channels, Path tmp) throws Exception {
        Path onnx = tmp.resolve("norms.onnx");
        try (StateDict base = org.attnzoo.converters.Checkpoints.open(dir.resolve("weights.safetensors"))) {
            Map<String, org.attnzoo.sdk.tensor.TensorData> all = new java.util.LinkedHashMap<>(org.attnzoo.converters.StateDicts.toMap(base));
            for (int i = 0; i < names.length; i++) {
                float[] w = new float[channels[i]], b = new float[channels[i]];
                java.util.Arrays.fill(w, 2f);
                java.util.Arrays.fill(b, 0.5f);
                all.put(names[i] + ".weight", new org.attnzoo.sdk.tensor.FloatTensor(new long[]{channels[i]}, w));
                all.put(names[i] + ".bias", new org.attnzoo.sdk.tensor.FloatTensor(new long[]{channels[i]}, b));
            }
            org.attnzoo.sdk.graph.OnnxModel.save(ModelBuilder.build(arch, org.attnzoo.converters.StateDicts.of("with norms", all),
                    ModelOutput.features()).graph(), onnx);
        }
        try (org.attnzoo.sdk.runtime.OnnxSession s = org.attnzoo.sdk.runtime.OnnxSession.open(onnx)) {
            Map<String, org.attnzoo.sdk.runtime.NdArray> got = s.run(Map.of(ModelBuilder.INPUT, org.attnzoo.sdk.io.Npy.read(dir.resolve("input.npy"))));
            for (int i = 0; i < names.length; i++) {
                org.attnzoo.sdk.runtime.NdArray want = org.attnzoo.sdk.io.Npy.read(dir.resolve("features_" + i + ".npy"));
                float[] scaled = want.data().clone();
                for (int k = 0; k < scaled.length; k++) scaled[k] = 2f * scaled[k] + 0.5f;
                assertThat(org.attnzoo.sdk.testing.Parity.relativeL2(got.get(ModelOutput.FEATURE_PREFIX + i).data(), scaled))
                        .as("%s features.%d with %s from the checkpoint", arch.name(), i, names[i]).isLessThan(1e-4);
            }
        }
    }

    @Test
    void sizesTooSmallForTheKernelAndOutIndicesOutOfRangeAreRefused() {
        Architecture nat = Architectures.get("nat_mini"), dinat = Architectures.get("dinat_mini"), dinatS = Architectures.get("dinat_s_tiny");
        assertThat(nat.atSize(256, 256).inputSize()).containsExactly(3, 256, 256);
        // nat_mini: level 3 (ceil(side / 32) tokens) must hold kernel 7: from 193
        assertThatThrownBy(() -> nat.atSize(160, 160)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kernel x dilation").hasMessageContaining("193x193");
        // dinat_mini: level 0 (ceil(side / 4) tokens) must hold dilation 8 x kernel 7 = 56: from 221
        assertThatThrownBy(() -> dinat.atSize(192, 192)).hasMessageContaining("221x221");
        assertThat(dinat.atSize(221, 221).inputSize()).containsExactly(3, 221, 221);
        assertThatThrownBy(() -> dinatS.atSize(200, 200)).hasMessageContaining("kernel x dilation");
        assertThatThrownBy(() -> nat.atSize(224, 256)).hasMessageContaining("square");
        for (Architecture a : List.of(nat, dinatS)) {
            assertThatThrownBy(() -> ModelBuilder.buildSynthetic(a, 0, ModelOutput.features(9)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
        }
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(Architectures.get("nat_isotropic_small"), 0, ModelOutput.features(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offers no feature maps");
        // isotropic: multiples of the patch whose token map holds kernel x dilation; ViT-rpb: card size only
        assertThat(Architectures.get("dinat_isotropic_small").atSize(384, 384).inputSize()).containsExactly(3, 384, 384);
        assertThatThrownBy(() -> Architectures.get("dinat_isotropic_small").atSize(208, 208)).hasMessageContaining("224x224");
        assertThatThrownBy(() -> Architectures.get("nat_isotropic_small").atSize(100, 100)).hasMessageContaining("multiple of the patch size 16");
        assertThatThrownBy(() -> Architectures.get("vitrpb_small").atSize(384, 384)).hasMessageContaining("relative-position table");
    }

    @Test
    void dinatSFixturePadsTheImageAndTheOddMerges() throws Exception {
        JsonNode cfg = new ObjectMapper().readTree(FIXTURES.resolve("dinat_s_reduced/config.json").toFile()).get("config");
        int img = cfg.get("imgSize").asInt(), p = cfg.get("patchSize").asInt();
        assertThat(img % p).isNotZero();                       // PatchEmbed pads
        assertThat(((img + p - 1) / p) % 2).isEqualTo(1);      // first PatchMerging pads
    }

    @Test
    void everyVariantHasTheUpstreamParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("nat_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(NAT.VARIANTS.size() + DiNATs.VARIANTS.size() + IsotropicNAT.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(Architectures.exists(e.getKey())).as(e.getKey()).isTrue();
            assertThat(upstreamCount(Architectures.get(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue().asLong());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dinat_s_tiny", "nat_isotropic_small", "vitrpb_small"})
    void smallNewVariantsBuildAtFullSizeWithTheUpstreamCount(String name) throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("nat_param_counts.json").toFile());
        ModelBuilder.Built built = ModelBuilder.buildSynthetic(Architectures.get(name), 1);
        assertThat(built.parameters()).isEqualTo(counts.get(name).asLong());
    }

    @Test
    void dinatMiniBuildsAtFullSizeWithTheUpstreamCount() {
        ModelBuilder.Built built = ModelBuilder.buildSynthetic(Architectures.get("dinat_mini"), 1);
        assertThat(built.parameters()).isEqualTo(19_984_174L);
    }
}
