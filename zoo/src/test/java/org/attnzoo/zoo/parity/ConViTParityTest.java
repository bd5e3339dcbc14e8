package org.attnzoo.zoo.parity;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.family.convit.ConViT;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

/**
 * ConViT against timm's float64 outputs on the same random fp16-exact weights (fixtures from
 * tools/parity/convit.py): reduced configs through timm's constructor, and full-size convit_tiny
 * from both upstream checkpoint forms (fp16 safetensors; a {'model': ...} wrapped .pth).
 */
class ConViTParityTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"convit_reduced", "convit_reduced_nobias"})
    void reducedConfigsMatchTimm(String fixture) throws Exception {
        ConViT.Config cfg = ParityFixture.config(fixture, ConViT.Config.class);
        ConViT arch = new ConViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp,
                ParityFixture.meta(fixture).get("parameters").asLong());
    }

    /** The embedding is timm's forward_head(pre_logits=True); ConViT is isotropic, so it offers no feature maps. */
    @ParameterizedTest
    @ValueSource(strings = {"convit_reduced", "convit_reduced_nobias"})
    void embeddingMatchesTimm(String fixture) throws Exception {
        ConViT.Config cfg = ParityFixture.config(fixture, ConViT.Config.class);
        ConViT arch = new ConViT(fixture, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        BackboneFixture.check(fixture, arch, ParityFixture.dir(fixture).resolve("weights.safetensors"), fixture, tmp);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> org.attnzoo.zoo.arch.ModelBuilder.buildSynthetic(arch, 0,
                        org.attnzoo.zoo.arch.ModelOutput.features()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offers no feature maps").hasMessageContaining("embedding (" + cfg.embedDim() + ")");
    }

    @ParameterizedTest
    @ValueSource(strings = {"model.safetensors", "checkpoint.pth"})
    void fullSizeConvitTinyMatchesTimmFromBothCheckpointForms(String file) throws Exception {
        ParityFixture.check("convit_tiny/" + file, Architectures.get("convit_tiny"),
                ParityFixture.dir("convit_tiny_full").resolve(file), "convit_tiny_full", tmp, 5_710_512L);
    }
}
