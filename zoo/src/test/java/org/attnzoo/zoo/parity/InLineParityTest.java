package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.inline.InLineDeiT;
import org.attnzoo.zoo.family.inline.InLinePVT;
import org.attnzoo.zoo.family.inline.InLineCSwin;
import org.attnzoo.zoo.family.inline.InLineSwin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * InLine attention against the authors' code in float64 on random fp16-exact weights (fixtures
 * from tools/parity/inline.py): InLine-DeiT (class token excluded from the local residual),
 * InLine-PVT (four stages, separate q / kv projections) and InLine-Swin (windowed InLine attention
 * with a cyclic shift, shifted window attention with Swin's mask, a mixed 'M' stage, patch
 * merging) and InLine-CSwin (global InLine with LePE, two-branch stripe attention); every
 * variant's parameter count.
 */
class InLineParityTest {
    static final Path FIXTURES = Path.of("src/test/resources/parity");

    @TempDir
    Path tmp;

    @Test
    void deitMatchesTheAuthorsCode() throws Exception {
        String fx = "inline_deit_reduced";
        InLineDeiT.Config cfg = ParityFixture.config(fx, InLineDeiT.Config.class);
        InLineDeiT arch = new InLineDeiT(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }

    @Test
    void pvtMatchesTheAuthorsCode() throws Exception {
        String fx = "inline_pvt_reduced";
        InLinePVT.Config cfg = ParityFixture.config(fx, InLinePVT.Config.class);
        InLinePVT arch = new InLinePVT(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }

    @Test
    void swinMatchesTheAuthorsCode() throws Exception {
        String fx = "inline_swin_reduced";
        InLineSwin.Config cfg = ParityFixture.config(fx, InLineSwin.Config.class);
        InLineSwin arch = new InLineSwin(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }

    @Test
    void cswinMatchesTheAuthorsCode() throws Exception {
        String fx = "inline_cswin_reduced";
        InLineCSwin.Config cfg = ParityFixture.config(fx, InLineCSwin.Config.class);
        InLineCSwin arch = new InLineCSwin(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        ParityFixture.check(fx, arch, ParityFixture.dir(fx).resolve("weights.safetensors"), fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
        // the 'S' stages' softmax branches are StripeAttention2D nodes: "ISSS", depths 1-2-2-1 on maps 16/8/4/2 with
        // stripes 2/2/2 -> stage 2: 2 blocks x 2 branches, stage 3: 2 x 2, stage 4 (last): 1 x 1
        org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto m = org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto.parseFrom(
                java.nio.file.Files.readAllBytes(tmp.resolve("model.onnx")));
        assertThat(m.getGraph().getNodeList().stream().filter(n -> n.getDomain().equals(org.attnzoo.sdk.ops.StripeAttention.DOMAIN)))
                .hasSize(9);
    }

    /**
     * Embedding (forward_features) and, for the hierarchical models, each stage's own output (the
     * authors' repository has no dense-prediction backbone), from tools/parity/inline_backbone.py.
     */
    @Test
    void backboneOutputsMatchTheAuthorsStages() throws Exception {
        Map<String, Architecture> archs = new java.util.LinkedHashMap<>();
        InLineDeiT.Config d = ParityFixture.config("inline_deit_reduced", InLineDeiT.Config.class);
        archs.put("inline_deit_reduced", new InLineDeiT("inline_deit_reduced", d, Preprocessing.imagenet(d.imgSize(), 0.875, "bicubic")));
        InLinePVT.Config p = ParityFixture.config("inline_pvt_reduced", InLinePVT.Config.class);
        archs.put("inline_pvt_reduced", new InLinePVT("inline_pvt_reduced", p, Preprocessing.imagenet(p.imgSize(), 0.875, "bicubic")));
        InLineSwin.Config s = ParityFixture.config("inline_swin_reduced", InLineSwin.Config.class);
        archs.put("inline_swin_reduced", new InLineSwin("inline_swin_reduced", s, Preprocessing.imagenet(s.imgSize(), 0.875, "bicubic")));
        InLineCSwin.Config c = ParityFixture.config("inline_cswin_reduced", InLineCSwin.Config.class);
        archs.put("inline_cswin_reduced", new InLineCSwin("inline_cswin_reduced", c, Preprocessing.imagenet(c.imgSize(), 0.875, "bicubic")));
        for (Map.Entry<String, Architecture> e : archs.entrySet()) {
            BackboneFixture.check(e.getKey(), e.getValue(), ParityFixture.dir(e.getKey()).resolve("weights.safetensors"), e.getKey(), tmp);
        }
    }

    @Test
    void outIndicesOutOfRangeAreRefused() {
        for (Architecture a : java.util.List.of(InLinePVT.variant("inline_pvt_tiny"), InLineSwin.variant("inline_swin_tiny"),
                InLineCSwin.variant("inline_cswin_tiny"))) {
            assertThatThrownBy(() -> ModelBuilder.buildSynthetic(a, 0, ModelOutput.features(9))).as(a.name())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid out-indices").hasMessageContaining("0,1,2,3");
        }
        assertThatThrownBy(() -> ModelBuilder.buildSynthetic(InLineDeiT.variant("inline_deit_tiny"), 0, ModelOutput.features(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offers no feature maps");
    }

    @Test
    void everyVariantHasTheAuthorsParameterCount() throws Exception {
        JsonNode counts = new ObjectMapper().readTree(FIXTURES.resolve("inline_param_counts.json").toFile());
        assertThat(counts.size()).isEqualTo(InLineDeiT.VARIANTS.size() + InLinePVT.VARIANTS.size() + InLineSwin.VARIANTS.size()
                + InLineCSwin.VARIANTS.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = counts.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String n = e.getKey();
            Architecture arch = n.startsWith("inline_deit") ? InLineDeiT.variant(n) : n.startsWith("inline_pvt") ? InLinePVT.variant(n)
                    : n.startsWith("inline_swin") ? InLineSwin.variant(n) : InLineCSwin.variant(n);
            assertThat(ModelBuilder.buildSynthetic(arch, 0).parameters()).as(e.getKey()).isEqualTo(e.getValue().asLong());
        }
    }
}
