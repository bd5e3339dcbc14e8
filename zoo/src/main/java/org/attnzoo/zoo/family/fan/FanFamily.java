package org.attnzoo.zoo.family.fan;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link Fan}'s variants (see {@link ArchitectureProvider}). */
public final class FanFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(Fan.VARIANTS.keySet(), Fan::variant);
    }
}
