package org.attnzoo.zoo.arch;

import org.attnzoo.zoo.hub.Registry;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Every architecture the zoo can build, by upstream name: the one name index (lookup ignoring case,
 * globbing, "did you mean"). Families register through {@link ArchitectureProvider}.
 */
public final class Architectures {
    private static final Map<String, Supplier<Architecture>> ALL = new LinkedHashMap<>();

    static {
        for (ArchitectureProvider p : java.util.ServiceLoader.load(ArchitectureProvider.class, Architectures.class.getClassLoader())) {
            for (Map.Entry<String, Supplier<Architecture>> e : p.architectures().entrySet()) {
                if (ALL.putIfAbsent(e.getKey(), e.getValue()) != null) {
                    throw new IllegalStateException("model name " + e.getKey() + " registered twice (" + p.getClass().getName() + ")");
                }
            }
        }
    }

    private Architectures() {
    }

    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** Names matching a shell-style pattern ({@code *}, {@code ?}; case-insensitive), in table order. */
    public static List<String> names(String pattern) {
        java.util.regex.Pattern p = Registry.glob(pattern == null || pattern.isBlank() ? "*" : pattern.trim());
        return ALL.keySet().stream().filter(n -> p.matcher(n).matches()).toList();
    }

    /**
     * The upstream spelling of {@code name}: itself when it is a name, else the one name that equals
     * it ignoring case ({@code ravlt_t} is {@code RAVLT_T}), else null.
     */
    public static String canonical(String name) {
        if (name == null || ALL.containsKey(name)) {
            return name;
        }
        List<String> hits = ALL.keySet().stream().filter(n -> n.equalsIgnoreCase(name)).toList();
        return hits.size() == 1 ? hits.get(0) : null;
    }

    public static boolean exists(String name) {
        return canonical(name) != null;
    }

    /** The architecture called {@code name} (case-insensitive); an unknown name gets an error with the closest names. */
    public static Architecture get(String name) {
        String c = canonical(name);
        if (c == null) {
            List<String> close = Registry.closest(name, ALL.keySet());
            throw new IllegalArgumentException("unknown model '" + name + "'"
                    + (close.isEmpty() ? "" : "; did you mean " + String.join(", ", close.subList(0, Math.min(3, close.size()))) + "?")
                    + " (see `attnzoo list`)");
        }
        return ALL.get(c).get();
    }
}
