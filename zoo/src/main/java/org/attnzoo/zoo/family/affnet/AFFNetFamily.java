package org.attnzoo.zoo.family.affnet;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link AFFNet}'s variants (see {@link ArchitectureProvider}). */
public final class AFFNetFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(AFFNet.VARIANTS.keySet(), AFFNet::variant);
    }
}
