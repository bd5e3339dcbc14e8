package org.attnzoo.samples;

import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.hub.ModelHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SimilarImagesTest {
    @TempDir
    Path home;

    /** A project using the zoo as a library does not inherit the CLI's libraries (optional dependencies), and needs none of them. */
    @Test
    void theLibraryCarriesNoCliDependencies() {
        for (String cls : new String[]{"picocli.CommandLine", "me.tongfei.progressbar.ProgressBar"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Class.forName(cls)).as(cls).isInstanceOf(ClassNotFoundException.class);
        }
        assertThat(org.attnzoo.zoo.AttnZoo.consoleProgress()).isNotNull();
    }

    @Test
    void theQueryRanksFirstAndTheRestFollowInOrder() throws Exception {
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(home).offline(true).build())) {
            List<SimilarImages.Match> ranked = SimilarImages.rank(zoo, "convit_digits", Path.of("images/digit_3.png"), Path.of("images"));
            assertThat(ranked).hasSize(10);
            assertThat(ranked.get(0).image().getFileName().toString()).isEqualTo("digit_3.png");
            assertThat(ranked.get(0).similarity()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            for (int i = 1; i < ranked.size(); i++) {
                assertThat(ranked.get(i).similarity()).isLessThanOrEqualTo(ranked.get(i - 1).similarity()).isLessThan(0.999);
            }
        }
    }
}
