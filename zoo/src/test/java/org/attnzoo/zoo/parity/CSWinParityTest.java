package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoint;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto;
import org.attnzoo.sdk.ops.StripeAttention;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.cswin.CSWin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * CSWin Transformer against the authors' {@code models/cswin.py} in float64 (fixtures from
 * tools/parity/cswin.py): two reduced configs on random fp16-exact weights (stripes of 1, 2 and 3,
 * a stage whose stripe equals its map, the last stage's full attention), the same weights in the
 * authors' checkpoint layout ({@code {'state_dict_ema': ...}}), and CSWin-T at full size on
 * deterministic weights regenerated here from each tensor's name; every registered variant's
 * parameter count.
 */
class CSWinParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    static CSWin arch(String fixture, boolean inline) throws Exception {
        CSWin.Config c = ParityFixture.config(fixture, CSWin.Config.class);
        c = new CSWin.Config(c.imgSize(), c.numClasses(), c.embedDim(), c.depth(), c.splitSize(), c.numHeads(), c.mlpRatio(), inline);
        return new CSWin(fixture, c, CSWin.preprocessing(c.imgSize()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cswin_reduced", "cswin_reduced_96"})
    void reducedConfigsMatchTheAuthorsCode(String fx) throws Exception {
        long params = ParityFixture.meta(fx).get("parameters").asLong();
        CSWin arch = arch(fx, false);
        assertThat(arch.config().parameterCount()).isEqualTo(params);
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, params);
        // one StripeAttention2D node per attention branch, all through the model-local function
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(tmp.resolve("model.onnx")));
        long ops = m.getGraph().getNodeList().stream().filter(n -> n.getDomain().equals(StripeAttention.DOMAIN)).count();
        assertThat(ops).isEqualTo(branches(arch.config()));
        assertThat(m.getFunctionsList()).anyMatch(f -> f.getName().equals(StripeAttention.OP));
        // the inline form computes the same
        ParityFixture.check(fx + " inline", arch(fx, true), ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, params);
    }

    /**
     * Embedding (forward_features) and the segmentation backbone's stage outputs
     * (segmentation/backbone/cswin_transformer.py CSWin.save_out: tokens through norm1..norm4, NCHW),
     * from tools/parity/cswin_backbone.py; cswin_reduced_96 also at 192 px against the authors'
     * classifier built for 192.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cswin_reduced", "cswin_reduced_96"})
    void backboneOutputsMatchTheAuthorsSegmentationBackbone(String fx) throws Exception {
        CSWin arch = arch(fx, false);
        Path ckpt = ParityFixture.dir(fx).resolve("weights.safetensors");
        BackboneFixture.check(fx, arch, ckpt, fx, tmp);
        if (fx.equals("cswin_reduced_96")) BackboneFixture.checkAtSize(fx, arch, ckpt, fx, tmp, 192);
    }

    /** norm1..norm4 of a segmentation checkpoint are read (not the initial LayerNorm). */
    @Test
    void segmentationCheckpointNormsAreRead() throws Exception {
        CSWin arch = arch("cswin_reduced_96", false);
        NatParityTest.checkpointNormsAreRead(arch, ParityFixture.dir("cswin_reduced_96"), new String[]{"norm1", "norm2", "norm3", "norm4"},
                new int[]{8, 16, 32, 64}, tmp);
    }

    @Test
    void sizesThatBreakTheStripesAndOutIndicesOutOfRangeAreRefused() throws Exception {
        Architecture tiny = Architectures.get("CSWin_64_12211_tiny_224");
        assertThat(tiny.atSize(448, 448).inputSize()).containsExactly(3, 448, 448);
        // stage 3 at 256 px: a 16x16 map does not divide into stripes of 7
        assertThatThrownBy(() -> tiny.atSize(256, 256)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stage 3").hasMessageContaining("stripes of width 7");
        // stage 3 at 112 px: a 7x7 map is one stripe, one attention branch instead of the card's two
        assertThatThrownBy(() -> tiny.atSize(112, 112)).hasMessageContaining("wider than one stripe");
        // cswin_reduced's stage 3 is a single stripe (4x4, width 4): only that layout fits its weights
        CSWin reduced = arch("cswin_reduced", false);
        assertThatThrownBy(() -> reduced.atSize(128, 128)).hasMessageContaining("and equal it");
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(tiny, 0, ModelOutput.features(9)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
    }

    /** Attention branches: two per block, one in the last stage and where the stripe equals the map. */
    static long branches(CSWin.Config c) {
        long n = 0;
        for (int i = 0; i < 4; i++) {
            int res = c.imgSize() / (4 << i);
            n += (long) c.depth()[i] * (i == 3 || res == c.splitSize()[i] ? 1 : 2);
        }
        return n;
    }

    @Test
    void theAuthorsCheckpointLayoutConverts() throws Exception {
        // {'state_dict_ema': state dict}: the key timm's CheckpointSaver writes and the authors' eval reads
        String fx = "cswin_reduced_96";
        Path pth = ParityFixture.dir(fx).resolve("checkpoint.pth");
        try (Checkpoint c = Checkpoints.open(pth)) {
            assertThat(c.entry()).isEqualTo("state_dict_ema");
        }
        ParityFixture.check(fx + " (state_dict_ema .pth)", arch(fx, false), pth, fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("cswin_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(CSWin.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertThat(Architectures.exists(e.getKey())).as(e.getKey()).isTrue();
            Architecture a = Architectures.get(e.getKey());
            assertThat(((CSWin) a).config().parameterCount()).as(e.getKey()).isEqualTo(e.getValue().asLong());
        }
        // the closed form agrees with what the graph consumes
        assertThat(ModelBuilder.buildSynthetic(CSWin.variant("CSWin_64_12211_tiny_224"), 0).parameters())
                .isEqualTo(counts.get("CSWin_64_12211_tiny_224").asLong());
    }

    @Test
    void fullSizeTinyMatchesTheAuthorsCode() throws Exception {
        Path dir = FIXTURES.resolve("cswin_tiny_full");
        JsonNode meta = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = meta.get("shapes").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            long[] shape = new long[e.getValue().size()];
            for (int i = 0; i < shape.length; i++) shape[i] = e.getValue().get(i).asLong();
            tensors.put(e.getKey(), new FloatTensor(shape, detValues(e.getKey(), shape)));
        }
        StateDict sd = new StateDict() {
            @Override
            public Set<String> keys() {
                return tensors.keySet();
            }

            @Override
            public TensorData get(String key) {
                return tensors.get(key);
            }

            @Override
            public String source() {
                return "cswin_tiny_full (deterministic weights)";
            }
        };
        Architecture arch = CSWin.variant(meta.get("model").asText());
        ModelBuilder.Built built = ModelBuilder.build(arch, sd);
        assertThat(built.parameters()).isEqualTo(meta.get("parameters").asLong());
        Path onnx = tmp.resolve("cswin_tiny.onnx");
        OnnxModel.save(built.graph(), onnx);
        long[] inShape = {1, 3, 224, 224};
        NdArray x = new NdArray(detValues("input", inShape), inShape);
        NdArray want = Npy.read(dir.resolve("expected.npy"));
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity("CSWin_64_12211_tiny_224 full size", s.run(x), want, 1e-4);
            System.out.printf("parity CSWin_64_12211_tiny_224 full size: relative L2 %.2e (%d params)%n", rel, built.parameters());
        }
    }

    /** tools/parity/cswin.py's det_values: the same hash and scales, in float32 (every value is exact there). */
    static float[] detValues(String name, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        CRC32 crc = new CRC32();
        crc.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        long seed = crc.getValue();
        String leaf = name.substring(name.lastIndexOf('.') + 1);
        double mul, add = 0;
        if (name.equals("input")) {
            mul = 1.0 / 512;
        } else if (shape.length == 1 && name.contains("norm") && leaf.equals("weight") || name.startsWith("stage1_conv_embed.2.") && leaf.equals("weight")) {
            mul = 1.0 / 4096;
            add = 1;
        } else if (shape.length >= 2 && leaf.equals("weight")) {
            long fanIn = n / shape[0];
            mul = 1.0 / 1024 * Math.pow(2, -((63 - Long.numberOfLeadingZeros(fanIn)) / 2));
        } else if (leaf.equals("bias")) {
            mul = 1.0 / 8192;
        } else {
            mul = 1.0 / 2048;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            long x = (i + 1L) * 0x9E3779B97F4A7C15L + seed;
            x ^= x >>> 31;
            x *= 0xBF58476D1CE4E5B9L;
            x ^= x >>> 29;
            long k = ((x >>> 53) & 2047) - 1024;
            v[i] = (float) (add + k * mul);
        }
        return v;
    }
}
