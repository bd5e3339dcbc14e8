package org.attnzoo.zoo.family.davit;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link DaViT}'s variants (see {@link ArchitectureProvider}). */
public final class DaViTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(DaViT.VARIANTS.keySet(), DaViT::variant);
    }
}
