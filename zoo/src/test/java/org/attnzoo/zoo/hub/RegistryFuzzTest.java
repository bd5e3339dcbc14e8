package org.attnzoo.zoo.hub;

import java.io.ByteArrayInputStream;
import java.io.IOException;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing of the registry parser and validator ({@link Registry#parse}): an index
 * either parses into a registry that answers lookups and survives a JSON round trip, or is refused
 * with a {@link RegistryException} (or, for unreadable input, an {@link IOException}) naming the
 * source on one line. Seeds: the test registry and the first entries of the bundled one, in
 * {@code RegistryFuzzTestInputs/fuzz/}.
 */
class RegistryFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void fuzz(byte[] data) {
        Registry r;
        try {
            r = Registry.parse(new ByteArrayInputStream(data), "fuzz.json");
        } catch (RegistryException | IOException expected) {
            String m = expected.getMessage();
            if (m == null || m.contains("\n") || !m.contains("fuzz.json")) {
                throw new AssertionError("not a one-line message naming the source", expected);
            }
            return;
        }
        for (ModelEntry m : r.models()) {
            r.resolve(m.name());
            for (String tag : m.tags()) r.resolve(tag);
            r.list(m.name());
        }
        r.suggest("convit");
        Registry again = Registry.parse(r.toJson(), "round trip");
        if (!again.models().equals(r.models())) throw new AssertionError("the JSON round trip changed the registry");
    }
}
