package org.attnzoo.zoo.family.overlock;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link OverLoCK}'s variants (see {@link ArchitectureProvider}). */
public final class OverLoCKFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(OverLoCK.VARIANTS.keySet(), OverLoCK::variant);
    }
}
