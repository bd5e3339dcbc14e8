package org.attnzoo.zoo.family.transnext;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link TransNeXt}'s variants (see {@link ArchitectureProvider}). */
public final class TransNeXtFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(TransNeXt.VARIANTS.keySet(), TransNeXt::variant);
    }
}
