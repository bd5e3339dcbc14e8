package org.attnzoo.zoo.family.l2vit;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link L2ViT}'s variants (see {@link ArchitectureProvider}). */
public final class L2ViTFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(L2ViT.VARIANTS.keySet(), L2ViT::variant);
    }
}
