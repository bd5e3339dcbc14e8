package org.attnzoo.samples;

import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.Prediction;
import org.attnzoo.zoo.hub.ModelHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ClassifyImageTest {
    @TempDir
    Path home;

    @Test
    void sampleClassifiesTheShippedDigit() throws Exception {
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(home).offline(true).build())) {
            List<Prediction> top = ClassifyImage.classify(zoo, "convit_digits", Path.of("images/digit_3.png"));
            assertThat(top).hasSize(3);
            assertThat(top.get(0).label()).isEqualTo("3");
            assertThat(top.get(0).probability()).isGreaterThan(top.get(1).probability());
        }
    }
}
