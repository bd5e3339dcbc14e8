package org.attnzoo.zoo.family.ffnet;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link FFNet}'s variants (see {@link ArchitectureProvider}). */
public final class FFNetFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(FFNet.VARIANTS.keySet(), FFNet::variant);
    }
}
