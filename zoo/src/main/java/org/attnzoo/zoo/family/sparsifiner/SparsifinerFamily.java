package org.attnzoo.zoo.family.sparsifiner;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link Sparsifiner}'s variants (see {@link ArchitectureProvider}). */
public final class SparsifinerFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(Sparsifiner.VARIANTS.keySet(), Sparsifiner::variant);
    }
}
