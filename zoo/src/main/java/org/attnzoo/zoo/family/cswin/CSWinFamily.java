package org.attnzoo.zoo.family.cswin;

import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ArchitectureProvider;

import java.util.Map;
import java.util.function.Supplier;

/** Registers {@link CSWin}'s variants (see {@link ArchitectureProvider}). */
public final class CSWinFamily implements ArchitectureProvider {
    @Override
    public Map<String, Supplier<Architecture>> architectures() {
        return ArchitectureProvider.of(CSWin.VARIANTS.keySet(), CSWin::variant);
    }
}
