package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Shapes;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.family.crossvit.CrossViT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CrossViT against timm's float64 outputs on random fp16-exact weights (fixtures from
 * tools/parity/crossvit.py): reduced configs through timm's constructor covering the in-graph
 * bicubic resize at upstream's ratios, both patch embeddings and both fusion layouts; and every
 * registered variant's parameter count against timm's.
 */
class CrossViTParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"crossvit_reduced", "crossvit_reduced_r17", "crossvit_dagger_reduced"})
    void reducedConfigsMatchTimm(String fixture) throws Exception {
        CrossViT.Config cfg = ParityFixture.config(fixture, CrossViT.Config.class);
        CrossViT arch = new CrossViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        long params = ParityFixture.meta(fixture).get("parameters").asLong();
        assertThat(cfg.parameterCount()).isEqualTo(params);
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp, params);
    }

    /** The embedding is timm's forward_head(pre_logits=True): every branch's pooled token, concatenated. */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"crossvit_reduced", "crossvit_dagger_reduced"})
    void embeddingMatchesTimm(String fixture) throws Exception {
        CrossViT.Config cfg = ParityFixture.config(fixture, CrossViT.Config.class);
        CrossViT arch = new CrossViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
    }

    @Test
    void everyVariantHasTheUpstreamParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("crossvit_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(CrossViT.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            CrossViT arch = CrossViT.variant(e.getKey());
            long want = e.getValue().asLong();
            assertThat(arch.config().parameterCount()).as(e.getKey()).isEqualTo(want);
            assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(e.getKey()).isEqualTo(want);
        }
    }

    /** The authors' (IBM/CrossViT) layout names the tables pos_embed.0 / cls_token.0; adapt() maps it onto timm's. */
    @Test
    void authorsKeyLayoutIsAdapted() throws Exception {
        Path dir = FIXTURES.resolve("crossvit_reduced");
        JsonNode meta = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        CrossViT.Config cfg = new ObjectMapper().treeToValue(meta.get("config"), CrossViT.Config.class);
        CrossViT arch = new CrossViT("crossvit_reduced", cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        Path onnx = tmp.resolve("authors.onnx");
        try (StateDict timm = Checkpoints.open(dir.resolve("weights.safetensors"));
             StateDict authors = org.attnzoo.converters.KeyMap.builder().rename("(pos_embed|cls_token)_(\\d+)", "$1.$2").build().apply(timm)) {
            assertThat(authors.keys()).contains("pos_embed.0", "cls_token.1").doesNotContain("pos_embed_0");
            OnnxModel.save(ModelBuilder.build(arch, authors).graph(), onnx);
        }
        try (OnnxSession s = OnnxSession.open(onnx)) {
            Parity.assertParity("crossvit_reduced (authors' keys)", s.run(Npy.read(dir.resolve("input.npy"))), Npy.read(dir.resolve("expected.npy")), 1e-4);
        }
    }

    /** The MatMul resize the model uses equals ONNX Resize (cubic, a = -0.75, half_pixel) at upstream's sizes. */
    @ParameterizedTest
    @ValueSource(ints = {240, 408})
    void matrixResizeEqualsOnnxResize(int side) throws Exception {
        int out = side == 240 ? 224 : 384;
        Graph g = new Graph("resize_check");
        Value x = g.input("x", DType.F32, Shapes.DYN, 3, side, side);
        Value diff = g.sub(CrossViT.bicubicResize(g, x, out, out), CrossViT.onnxBicubicResize(g, x, out, out));
        g.output(diff, "diff");
        Path onnx = tmp.resolve("resize.onnx");
        OnnxModel.save(g, onnx);
        float[] data = new float[2 * 3 * side * side];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < data.length; i++) data[i] = (float) r.nextGaussian();
        try (OnnxSession s = OnnxSession.open(onnx)) {
            NdArray d = s.run(new NdArray(data, new long[]{2, 3, side, side}));
            assertThat(d.shape()).containsExactly(2, 3, out, out);
            float max = 0;
            for (float v : d.data()) max = Math.max(max, Math.abs(v));
            System.out.printf("resize %d->%d: max |matrix - ONNX Resize| = %.2e%n", side, out, max);
            assertThat(max).isLessThan(1e-4f); // ORT works from the float scale out/in; the matrices match PyTorch closer
        }
    }

    @Test
    void preprocessingFollowsTimmsPretrainedConfig() {
        assertThat(CrossViT.variant("crossvit_tiny_240").preprocessing())
                .isEqualTo(Preprocessing.imagenet(240, 0.875, "bicubic"));
        assertThat(CrossViT.variant("crossvit_18_dagger_408").preprocessing())
                .isEqualTo(Preprocessing.imagenet(408, 1.0, "bicubic"));
    }
}
