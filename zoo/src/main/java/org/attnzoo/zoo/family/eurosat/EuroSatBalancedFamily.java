package org.attnzoo.zoo.family.eurosat;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link EuroSatBalanced}'s variants (see {@link ArchitectureProvider}). */
public final class EuroSatBalancedFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(EuroSatBalanced.VARIANTS.keySet(), EuroSatBalanced::variant);
    }
}
