package org.attnzoo.zoo.family.crossvit;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link CrossViT}'s variants (see {@link ArchitectureProvider}). */
public final class CrossViTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(CrossViT.VARIANTS.keySet(), CrossViT::variant);
    }
}
