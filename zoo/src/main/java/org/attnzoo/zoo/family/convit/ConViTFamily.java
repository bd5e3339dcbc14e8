package org.attnzoo.zoo.family.convit;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link ConViT}'s variants (see {@link ArchitectureProvider}). */
public final class ConViTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(ConViT.VARIANTS.keySet(), ConViT::variant);
    }
}
