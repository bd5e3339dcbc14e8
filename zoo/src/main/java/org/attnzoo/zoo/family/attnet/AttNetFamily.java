package org.attnzoo.zoo.family.attnet;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link AttNet}'s variants (see {@link ArchitectureProvider}). */
public final class AttNetFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(AttNet.VARIANTS.keySet(), AttNet::variant);
    }
}
