package org.attnzoo.zoo.family.shvit;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link SHViT}'s variants (see {@link ArchitectureProvider}). */
public final class SHViTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(SHViT.VARIANTS.keySet(), SHViT::variant);
    }
}
