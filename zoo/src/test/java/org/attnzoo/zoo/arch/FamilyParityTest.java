package org.attnzoo.zoo.arch;

import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

class FamilyParityTest {
    @Test
    void everyBuildableFamilyNamesAParityTestThatExists() {
        Set<String> families = new TreeSet<>();
        for (String n : Architectures.names()) families.add(Architectures.get(n).family());
        assertThat(families).hasSizeGreaterThan(20);
        for (String f : families) {
            assertThat(FamilyParity.test(f)).as(f).isPresent();
            String cls = "org.attnzoo.zoo.parity." + FamilyParity.test(f).orElseThrow();
            assertThatCode(() -> Class.forName(cls)).as(f + " -> " + cls).doesNotThrowAnyException();
            assertThat(FamilyParity.status(f)).isEqualTo("verified");
        }
        assertThat(FamilyParity.status("no_such_family")).isEqualTo("unverified");
    }
}
