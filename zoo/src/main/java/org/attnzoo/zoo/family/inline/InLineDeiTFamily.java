package org.attnzoo.zoo.family.inline;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link InLineDeiT}'s variants (see {@link ArchitectureProvider}). */
public final class InLineDeiTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(InLineDeiT.VARIANTS.keySet(), InLineDeiT::variant);
    }
}
