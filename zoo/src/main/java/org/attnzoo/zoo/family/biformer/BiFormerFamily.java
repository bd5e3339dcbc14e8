package org.attnzoo.zoo.family.biformer;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link BiFormer}'s variants (see {@link ArchitectureProvider}). */
public final class BiFormerFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(BiFormer.VARIANTS.keySet(), BiFormer::variant);
    }
}
