package org.attnzoo.zoo.arch;

import org.attnzoo.sdk.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * For every family that declares a backbone, one registered variant (the smallest by name) is built
 * with every feature map and with its embedding: the marks its forward pass makes must be the ones
 * {@link Architecture#backbone()} declares (ModelBuilder checks widths), and each map's size must be
 * its stride's share of the input, as rounded by the family. The parity tests check the values on
 * reduced configs; this checks the declarations of real variants.
 */
class BackboneDeclarationsTest {
    private static final List<String> SMALL = List.of("nano", "micro", "mini", "xxs", "xs", "tiny", "_t", "s1", "_1", "small", "_s");

    private static int rank(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        for (int i = 0; i < SMALL.size(); i++) if (n.contains(SMALL.get(i))) return i;
        return SMALL.size();
    }

    @Test
    void everyDeclaringFamilysSmallestVariantMarksWhatItDeclares() {
        Map<String, String> pick = new LinkedHashMap<>();
        for (String n : Architectures.names()) {
            Architecture a = Architectures.get(n);
            if (a.backbone() == null) continue;
            pick.merge(a.family(), n, (x, y) -> Comparator.comparingInt(BackboneDeclarationsTest::rank).thenComparing(Comparator.naturalOrder())
                    .compare(x, y) <= 0 ? x : y);
        }
        assertThat(pick).as("families declaring a backbone").isNotEmpty();
        List<String> checked = new ArrayList<>();
        for (String name : pick.values()) {
            Architecture a = Architectures.get(name);
            Backbone b = a.backbone();
            int[] in = a.inputSize();
            if (b.hasEmbedding()) {
                Value e = ModelBuilder.buildSynthetic(a, 0, ModelOutput.embedding()).graph().outputs().get(0);
                assertThat(e.dim(1)).as("%s embedding width", name).isEqualTo(b.embeddingDim());
            }
            if (!b.stages().isEmpty()) {
                List<Value> outs = ModelBuilder.buildSynthetic(a, 0, ModelOutput.features()).graph().outputs();
                assertThat(outs).as("%s feature outputs", name).hasSize(b.stages().size());
                for (Backbone.Stage s : b.stages()) {
                    Value v = outs.get(s.index());
                    assertThat(v.name()).isEqualTo(ModelOutput.FEATURE_PREFIX + s.index());
                    assertThat(v.dim(1)).as("%s features.%d channels", name, s.index()).isEqualTo(s.channels());
                    for (int ax = 0; ax < 2; ax++) {
                        double want = (double) in[1 + ax] / s.reduction();
                        assertThat((double) v.dim(2 + ax)).as("%s features.%d spatial dim %d at stride %d", name, s.index(), ax, s.reduction())
                                .isBetween(Math.floor(want), Math.ceil(want));
                    }
                }
            }
            checked.add(name);
        }
        System.out.println("backbone declarations checked: " + checked);
    }
}
