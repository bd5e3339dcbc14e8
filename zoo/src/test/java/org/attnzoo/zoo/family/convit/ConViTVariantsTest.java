package org.attnzoo.zoo.family.convit;

import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class ConViTVariantsTest {
    /** Parameter counts of timm's models (sum of numel over model.parameters()). */
    @ParameterizedTest
    @CsvSource({"convit_tiny, 5710512", "convit_small, 27777322", "convit_base, 86540040"})
    void everyVariantBuildsWithUpstreamParameterCount(String name, long params) {
        ModelBuilder.Built b = ModelBuilder.buildSynthetic(Architectures.get(name), 0);
        assertThat(b.parameters()).isEqualTo(params);
        assertThat(b.graph().outputs().get(0).shape()).containsExactly(-1, 1000);
    }
}
