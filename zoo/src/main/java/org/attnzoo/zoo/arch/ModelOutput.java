package org.attnzoo.zoo.arch;

import java.util.Arrays;
import java.util.Locale;

/**
 * Which values a built model returns: ImageNet logits (the default), the pooled pre-logits
 * embedding, or feature maps of chosen stages ({@code features.N}, NCHW).
 *
 * @param kind       what to return
 * @param outIndices for {@link Kind#FEATURES}: the stages, in increasing order; empty means every stage
 */
public record ModelOutput(Kind kind, int[] outIndices) {
    public enum Kind {
        LOGITS, EMBEDDING, FEATURES;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** {@code logits|embedding|features}, or an error naming the valid ones. */
        public static Kind parse(String s) {
            for (Kind k : values()) if (k.label().equalsIgnoreCase(s.trim())) return k;
            throw new IllegalArgumentException("unknown output '" + s + "'; valid: logits, embedding, features");
        }
    }

    public static final String LOGITS_NAME = "logits";
    public static final String EMBEDDING_NAME = "embedding";
    public static final String FEATURE_PREFIX = "features.";

    public ModelOutput {
        outIndices = outIndices == null ? new int[0] : outIndices.clone();
        if (kind != Kind.FEATURES && outIndices.length > 0) {
            throw new IllegalArgumentException("out-indices apply to the features output only, not to " + kind.label());
        }
        for (int i = 1; i < outIndices.length; i++) {
            if (outIndices[i] <= outIndices[i - 1]) throw new IllegalArgumentException("out-indices must increase without repeats: " + Arrays.toString(outIndices));
        }
    }

    public static ModelOutput logits() {
        return new ModelOutput(Kind.LOGITS, null);
    }

    public static ModelOutput embedding() {
        return new ModelOutput(Kind.EMBEDDING, null);
    }

    /** Feature maps of the given stages; none given means all. */
    public static ModelOutput features(int... outIndices) {
        return new ModelOutput(Kind.FEATURES, outIndices);
    }

    /** Parses {@code 0,1,2} (spaces allowed). */
    public static int[] parseIndices(String s) {
        if (s == null || s.isBlank()) return new int[0];
        try {
            return Arrays.stream(s.split(",")).map(String::trim).mapToInt(Integer::parseInt).sorted().distinct().toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("out-indices must be comma-separated integers, got '" + s + "'");
        }
    }

    /** The indices this output returns for a backbone: the requested ones, or all of them. */
    public int[] resolveIndices(Backbone b) {
        if (outIndices.length > 0) return outIndices.clone();
        return b.stages().stream().mapToInt(Backbone.Stage::index).toArray();
    }

    /** A path-safe label for cache keys and file names: {@code logits}, {@code embedding}, {@code features0-1-2}. */
    public String slug() {
        if (kind != Kind.FEATURES || outIndices.length == 0) return kind.label();
        StringBuilder b = new StringBuilder("features");
        for (int i = 0; i < outIndices.length; i++) b.append(i == 0 ? "" : "-").append(outIndices[i]);
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelOutput m && m.kind == kind && Arrays.equals(m.outIndices, outIndices);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + Arrays.hashCode(outIndices);
    }

    @Override
    public String toString() {
        return slug();
    }
}
