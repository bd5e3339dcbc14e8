package org.attnzoo.zoo.family.volo;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link Volo}'s variants (see {@link ArchitectureProvider}). */
public final class VoloFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(Volo.VARIANTS.keySet(), Volo::variant);
    }
}
