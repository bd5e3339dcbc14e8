package org.attnzoo.zoo.family.spartan;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link SpaRTAN}'s variants (see {@link ArchitectureProvider}). */
public final class SpaRTANFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(SpaRTAN.VARIANTS.keySet(), SpaRTAN::variant);
    }
}
