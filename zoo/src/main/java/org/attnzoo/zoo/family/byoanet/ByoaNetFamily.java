package org.attnzoo.zoo.family.byoanet;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link ByoaNet}'s variants (see {@link ArchitectureProvider}). */
public final class ByoaNetFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(ByoaNet.VARIANTS.keySet(), ByoaNet::variant);
    }
}
