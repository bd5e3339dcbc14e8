package org.attnzoo.zoo.family.casvit;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link CasVit}'s variants (see {@link ArchitectureProvider}). */
public final class CasVitFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(CasVit.VARIANTS.keySet(), CasVit::variant);
    }
}
