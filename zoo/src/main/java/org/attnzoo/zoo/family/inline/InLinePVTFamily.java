package org.attnzoo.zoo.family.inline;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link InLinePVT}'s variants (see {@link ArchitectureProvider}). */
public final class InLinePVTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(InLinePVT.VARIANTS.keySet(), InLinePVT::variant);
    }
}
