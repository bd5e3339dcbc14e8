package org.attnzoo.zoo.arch;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.hub.ModelEntry;
import org.attnzoo.zoo.hub.Registry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The registry's model cards and the builders state the same facts twice (preprocessing, family):
 * every card of a buildable model must agree with its builder, so the two cannot drift apart.
 */
class RegistryAgreesWithBuildersTest {
    @Test
    void everyCardsPreprocessingAndFamilyEqualItsBuilders() {
        List<String> drift = new ArrayList<>();
        int checked = 0;
        for (ModelEntry e : Registry.bundled().models()) {
            if (!Architectures.exists(e.name())) continue;
            Architecture a = Architectures.get(e.name());
            Preprocessing card = AttnZoo.preprocessing(e), built = a.preprocessing();
            if (!card.equals(built)) drift.add(e.name() + ": card " + card + " vs builder " + built);
            if (!e.family().equals(a.family())) drift.add(e.name() + ": card family " + e.family() + " vs builder " + a.family());
            checked++;
        }
        assertThat(checked).isGreaterThan(100);
        assertThat(drift).as("registry cards that disagree with their builders").isEmpty();
    }
}
