package org.attnzoo.zoo.family.dhvt;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link DHVT}'s variants (see {@link ArchitectureProvider}). */
public final class DHVTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(DHVT.VARIANTS.keySet(), DHVT::variant);
    }
}
