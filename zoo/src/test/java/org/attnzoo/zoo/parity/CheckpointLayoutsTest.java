package org.attnzoo.zoo.parity;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.family.inline.InLineSwin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Checkpoint layouts that the authors' own loading code accepts, beyond the state dict their
 * current model writes (which every parity fixture is): made from parity fixtures by dropping the
 * buffers the authors' loaders drop or recompute, and checked against the same expected logits.
 */
class CheckpointLayoutsTest {
    @TempDir
    Path tmp;

    /**
     * InLine's load_pretrained deletes relative_position_index, relative_coords_table and attn_mask
     * ("we always re-init it"), and its load_checkpoint loads with strict=False: a Swin checkpoint
     * without those buffers converts to the same model.
     */
    @Test
    void inlineSwinWithoutRecomputedBuffers() throws Exception {
        String fx = "inline_swin_reduced";
        InLineSwin.Config cfg = ParityFixture.config(fx, InLineSwin.Config.class);
        InLineSwin arch = new InLineSwin(fx, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
        Path p = Layouts.rewrite(fx, tmp.resolve("pretrained.safetensors"), m -> {
            int before = m.size();
            m.keySet().removeIf(k -> k.endsWith(".relative_position_index") || k.endsWith(".attn_mask"));
            assertThat(m.size()).isLessThan(before);
        });
        ParityFixture.check(fx + " without index/mask buffers", arch, p, fx, tmp, ParityFixture.meta(fx).get("parameters").asLong());
    }
}
