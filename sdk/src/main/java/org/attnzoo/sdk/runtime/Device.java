package org.attnzoo.sdk.runtime;

/**
 * Where a model runs: {@code cpu}, {@code cuda} / {@code cuda:N}, or {@code auto} (CUDA when it
 * loads, else CPU with one log line saying why).
 */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, CUDA, AUTO }

    public static Device cpu() {
        return new Device(Kind.CPU, 0);
    }

    public static Device cuda(int index) {
        return new Device(Kind.CUDA, index);
    }

    public static Device auto() {
        return new Device(Kind.AUTO, 0);
    }

    /** Parses {@code cpu}, {@code cuda}, {@code cuda:1}, {@code auto}. */
    public static Device parse(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("cpu")) return cpu();
        if (t.equals("auto")) return auto();
        if (t.equals("cuda") || t.equals("gpu")) return cuda(0);
        if (t.startsWith("cuda:")) {
            try {
                int i = Integer.parseInt(t.substring(5));
                if (i >= 0) return cuda(i);
            } catch (NumberFormatException ignored) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + s + "': use cpu, cuda, cuda:N or auto");
    }

    @Override
    public String toString() {
        return switch (kind) {
            case CPU -> "cpu";
            case AUTO -> "auto";
            case CUDA -> "cuda:" + index;
        };
    }
}
