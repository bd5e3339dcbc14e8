package org.attnzoo.zoo;

import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.davit.DaViT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Java side of backbone outputs: FeatureExtractor and ImageEmbedder on converted files, cache slots, sizes. */
class BackboneApiTest {
    @TempDir
    Path tmp;

    private static DaViT smallDavit() {
        DaViT.Config c = new DaViT.Config(64, 3, 10, new int[]{1, 1, 1, 1}, new int[]{8, 12, 16, 16}, new int[]{1, 2, 4, 2}, 4, 2.0, true, 1e-5);
        return new DaViT("davit_small_test", c, Preprocessing.imagenet(64, 0.95, "bicubic"));
    }

    @Test
    void featureExtractorReturnsTheRequestedStagesWithTheirStrides() throws Exception {
        Path f = tmp.resolve("features.onnx");
        ModelBuilder.Built b = ModelBuilder.buildSynthetic(smallDavit().atSize(96, 96), 1, ModelOutput.features(1, 3));
        OnnxModel.save(b.graph(), f);
        try (FeatureExtractor fx = FeatureExtractor.open(f, Device.cpu())) {
            assertThat(fx.stages()).containsExactly(new Backbone.Stage(1, 12, 8), new Backbone.Stage(3, 16, 32));
            Map<String, NdArray> maps = fx.features(new NdArray(new float[2 * 3 * 96 * 96], new long[]{2, 3, 96, 96}));
            assertThat(maps.keySet()).containsExactly("features.1", "features.3");
            assertThat(maps.get("features.1").shape()).containsExactly(2, 12, 12, 12);
            assertThat(maps.get("features.3").shape()).containsExactly(2, 16, 3, 3);
        }
        assertThatThrownBy(() -> ImageEmbedder.open(f, Device.cpu())).hasMessageContaining("not an embedding model");
    }

    @Test
    void anEmbeddingGraphKeepsNoHead() throws Exception {
        DaViT a = smallDavit();
        ModelBuilder.Built logits = ModelBuilder.buildSynthetic(a, 1);
        ModelBuilder.Built emb = ModelBuilder.buildSynthetic(a, 1, ModelOutput.embedding());
        assertThat(emb.graph().initializers()).doesNotContainKeys("head.fc.weight", "head.fc.bias");
        assertThat(logits.graph().initializers()).containsKeys("head.fc.weight", "head.fc.bias");
        assertThat(emb.graph().macs()).isEqualTo(logits.graph().macs() - 16L * 10);
        Path f = tmp.resolve("emb.onnx");
        OnnxModel.save(emb.graph(), f);
        try (ImageEmbedder e = ImageEmbedder.open(f, Device.cpu())) {
            assertThat(e.dimension()).isEqualTo(16);
            assertThat(e.embeddings(new NdArray(new float[3 * 64 * 64], new long[]{1, 3, 64, 64})).shape()).containsExactly(1, 16);
        }
        assertThat(ImageEmbedder.cosine(new float[]{1, 0}, new float[]{0, 2})).isZero();
        assertThat(ImageEmbedder.cosine(new float[]{1, 2}, new float[]{2, 4})).isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void everyOutputAndSizeHasItsOwnCacheSlot() {
        Architecture a = Architectures.get("davit_tiny");
        assertThat(AttnZoo.convertedKey("t", a).slotName()).isEqualTo("opset17-fp32");
        assertThat(AttnZoo.convertedKey("t", a, ModelOutput.embedding(), null).slotName()).isEqualTo("opset17-fp32+embedding");
        assertThat(AttnZoo.convertedKey("t", a, ModelOutput.features(0, 2), new int[]{320, 320}).slotName()).isEqualTo("opset17-fp32+features0-2+320x320");
        assertThat(AttnZoo.convertedKey("t", a, ModelOutput.features(), null).slotName()).isEqualTo("opset17-fp32+features");
    }

    @Test
    void outputSpecsAreChecked() {
        assertThat(ModelOutput.parseIndices(" 3, 1,1 ")).containsExactly(1, 3);
        assertThatThrownBy(() -> ModelOutput.parseIndices("a,b")).hasMessageContaining("comma-separated integers");
        assertThatThrownBy(() -> new ModelOutput(ModelOutput.Kind.EMBEDDING, new int[]{1})).hasMessageContaining("features output only");
        assertThat(ModelOutput.Kind.parse("Features")).isEqualTo(ModelOutput.Kind.FEATURES);
        assertThatThrownBy(() -> smallDavit().atSize(16, 16)).hasMessageContaining("at least 32x32");
    }
}
