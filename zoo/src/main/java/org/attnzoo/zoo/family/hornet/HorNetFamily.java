package org.attnzoo.zoo.family.hornet;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link HorNet}'s variants (see {@link ArchitectureProvider}). */
public final class HorNetFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(HorNet.VARIANTS.keySet(), HorNet::variant);
    }
}
