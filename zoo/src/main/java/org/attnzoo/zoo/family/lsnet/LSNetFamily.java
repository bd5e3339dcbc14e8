package org.attnzoo.zoo.family.lsnet;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link LSNet}'s variants (see {@link ArchitectureProvider}). */
public final class LSNetFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(LSNet.VARIANTS.keySet(), LSNet::variant);
    }
}
