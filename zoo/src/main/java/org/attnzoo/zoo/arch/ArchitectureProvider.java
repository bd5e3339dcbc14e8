package org.attnzoo.zoo.arch;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A family's registration: the named architectures it builds. Families register themselves with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/org.attnzoo.zoo.arch.ArchitectureProvider},
 * one line per provider, in the order {@code attnzoo list} shows them), so the name table in
 * {@link Architectures} depends on no family.
 */
public interface ArchitectureProvider {
    /** Upstream name to a supplier of its architecture, in display order. */
    Map<String, Supplier<Architecture>> architectures();

    /** The table of {@code names}, each built by {@code variant}. */
    static Map<String, Supplier<Architecture>> of(Collection<String> names, Function<String, ? extends Architecture> variant) {
        Map<String, Supplier<Architecture>> m = new LinkedHashMap<>();
        for (String n : names) m.put(n, () -> variant.apply(n));
        return m;
    }
}
