package org.attnzoo.zoo.family.ravlt;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link Ravlt}'s variants (see {@link ArchitectureProvider}). */
public final class RavltFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(Ravlt.VARIANTS.keySet(), Ravlt::variant);
    }
}
