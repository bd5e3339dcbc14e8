package org.attnzoo.zoo.family.nat;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link DiNATs}'s variants (see {@link ArchitectureProvider}). */
public final class DiNATsFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(DiNATs.VARIANTS.keySet(), DiNATs::variant);
    }
}
