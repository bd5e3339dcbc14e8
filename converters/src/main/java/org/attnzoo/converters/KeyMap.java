package org.attnzoo.converters;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * Turns a state dict in one naming layout (say, timm's) into a view in another (ours): an ordered
 * list of rules, each applied to every key in turn, in the order they were added.
 *
 * <ul>
 *   <li>{@link Builder#rename}: a regex that must match the <em>whole</em> key; the key becomes the
 *       replacement ({@code $1} etc. refer to groups).</li>
 *   <li>{@link Builder#replace}: every occurrence of a regex inside the key is replaced.</li>
 *   <li>{@link Builder#renamePrefix}: a literal prefix is swapped.</li>
 *   <li>{@link Builder#drop} / {@link Builder#dropGlob} / {@link Builder#keep}: keys upstream
 *       carries but inference does not need (e.g. {@code num_batches_tracked},
 *       {@code *.relative_position_index}) are removed; source keys removed by these rules, or by an
 *       {@code expand} function that returns nothing, are listed in {@link MappedStateDict#dropped()}.</li>
 *   <li>{@link Builder#expand}: each key matching a regex (whole key) is replaced by the tensors a
 *       function returns for it: a reshape, a split of a fused {@code qkv} into three, nothing.</li>
 *   <li>{@link Builder#transform}: a function of the whole state dict as it stands at that point,
 *       whose result replaces it entirely (for cross-key rewrites).</li>
 * </ul>
 *
 * Rules run when {@link #apply} is called, on keys only; tensors stay lazy, so functions given to
 * {@code expand}/{@code transform} should return lazy tensors (see {@link TensorViews}). If two
 * source keys end up under one target key, {@code apply} throws a {@link CheckpointException}
 * naming both. Instances are immutable and reusable.
 */
public final class KeyMap {
    private static final KeyMap IDENTITY = new KeyMap(List.of());

    private final List<Rule> rules;

    private KeyMap(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** The map that changes nothing. */
    public static KeyMap identity() {
        return IDENTITY;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** This map's rules followed by {@code next}'s. */
    public KeyMap andThen(KeyMap next) {
        List<Rule> all = new ArrayList<>(rules);
        all.addAll(next.rules);
        return new KeyMap(all);
    }

    /**
     * Where the key rules send a single {@code key} (null when dropped). {@code expand} and
     * {@code transform} rules are skipped here, since they need the tensors.
     */
    public String mapKey(String key) {
        String k = key;
        for (Rule r : rules) {
            if (r instanceof KeyRule kr) {
                k = kr.map(k);
                if (k == null) return null;
            }
        }
        return k;
    }

    /** Applies the rules to {@code source}, returning a view under the new keys. */
    public MappedStateDict apply(StateDict source) {
        String src = source.source();
        Map<String, Slot> cur = new LinkedHashMap<>();
        for (String k : source.keys()) cur.put(k, new Slot(source.get(k), k));
        List<String> dropped = new ArrayList<>();

        for (Rule rule : rules) {
            Map<String, Slot> next = new LinkedHashMap<>();
            if (rule instanceof KeyRule kr) {
                for (Map.Entry<String, Slot> e : cur.entrySet()) {
                    String nk = kr.map(e.getKey());
                    if (nk == null) dropped.add(e.getValue().origin);
                    else put(src, next, nk, e.getValue(), rule);
                }
            } else if (rule instanceof Expand ex) {
                for (Map.Entry<String, Slot> e : cur.entrySet()) {
                    Slot s = e.getValue();
                    if (!ex.pattern.matcher(e.getKey()).matches()) {
                        put(src, next, e.getKey(), s, rule);
                        continue;
                    }
                    Map<String, TensorData> outs = ex.fn.apply(e.getKey(), s.tensor);
                    if (outs == null || outs.isEmpty()) {
                        dropped.add(s.origin);
                        continue;
                    }
                    for (Map.Entry<String, TensorData> o : outs.entrySet()) {
                        if (o.getKey() == null || o.getValue() == null) {
                            throw new CheckpointException(src, s.origin, "key map rule " + rule
                                    + " returned a null key or tensor", null);
                        }
                        put(src, next, o.getKey(), new Slot(o.getValue(), s.origin), rule);
                    }
                }
            } else if (rule instanceof Transform tr) {
                Map<String, TensorData> view = new LinkedHashMap<>();
                Map<TensorData, String> originOf = new IdentityHashMap<>();
                cur.forEach((k, s) -> {
                    view.put(k, s.tensor);
                    originOf.putIfAbsent(s.tensor, s.origin);
                });
                Map<String, TensorData> res = tr.fn.apply(StateDicts.of(src, view));
                if (res == null) throw new CheckpointException(src, "key map transform returned null");
                for (Map.Entry<String, TensorData> o : res.entrySet()) {
                    if (o.getKey() == null || o.getValue() == null) {
                        throw new CheckpointException(src, o.getKey(), "key map transform returned a null key or tensor", null);
                    }
                    String origin = originOf.getOrDefault(o.getValue(), MappedStateDict.TRANSFORM_ORIGIN);
                    next.put(o.getKey(), new Slot(o.getValue(), origin));
                }
            }
            cur = next;
        }

        Map<String, TensorData> tensors = new LinkedHashMap<>();
        Map<String, String> origins = new LinkedHashMap<>();
        cur.forEach((k, s) -> {
            tensors.put(k, s.tensor);
            origins.put(k, s.origin);
        });
        return new MappedStateDict(source, tensors, origins, dropped);
    }

    private static void put(String src, Map<String, Slot> next, String key, Slot slot, Rule rule) {
        Slot prev = next.putIfAbsent(key, slot);
        if (prev != null) {
            throw new CheckpointException(src, key, "key map sends both '" + prev.origin + "' and '" + slot.origin
                    + "' to this key (rule " + rule + ")", null);
        }
    }

    @Override
    public String toString() {
        return "KeyMap" + rules;
    }

    private record Slot(TensorData tensor, String origin) {
    }

    private interface Rule {
    }

    /** A rule on keys alone; {@link #map} returns null to drop. */
    private interface KeyRule extends Rule {
        String map(String key);
    }

    private record Rename(Pattern pattern, String replacement) implements KeyRule {
        @Override
        public String map(String key) {
            Matcher m = pattern.matcher(key);
            if (!m.matches()) return key;
            StringBuilder sb = new StringBuilder();
            m.appendReplacement(sb, replacement);
            m.appendTail(sb);
            return sb.toString();
        }

        @Override
        public String toString() {
            return "rename " + pattern + " -> " + replacement;
        }
    }

    private record Replace(Pattern pattern, String replacement) implements KeyRule {
        @Override
        public String map(String key) {
            return pattern.matcher(key).replaceAll(replacement);
        }

        @Override
        public String toString() {
            return "replace " + pattern + " -> " + replacement;
        }
    }

    private record Prefix(String from, String to) implements KeyRule {
        @Override
        public String map(String key) {
            return key.startsWith(from) ? to + key.substring(from.length()) : key;
        }

        @Override
        public String toString() {
            return "prefix '" + from + "' -> '" + to + "'";
        }
    }

    private record Drop(Pattern pattern, boolean keep, String text) implements KeyRule {
        @Override
        public String map(String key) {
            return pattern.matcher(key).matches() != keep ? null : key;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private record Expand(Pattern pattern, BiFunction<String, TensorData, Map<String, TensorData>> fn) implements Rule {
        @Override
        public String toString() {
            return "expand " + pattern;
        }
    }

    private record Transform(Function<StateDict, Map<String, TensorData>> fn, String name) implements Rule {
        @Override
        public String toString() {
            return "transform " + name;
        }
    }

    /** Collects rules in order. */
    public static final class Builder {
        private final List<Rule> rules = new ArrayList<>();

        private Builder() {
        }

        /** When {@code regex} matches the whole key, the key becomes {@code replacement} ({@code $n} groups allowed). */
        public Builder rename(String regex, String replacement) {
            rules.add(new Rename(Pattern.compile(regex), Objects.requireNonNull(replacement)));
            return this;
        }

        /** Replaces every match of {@code regex} inside the key with {@code replacement}. */
        public Builder replace(String regex, String replacement) {
            rules.add(new Replace(Pattern.compile(regex), Objects.requireNonNull(replacement)));
            return this;
        }

        /** Keys starting with the literal {@code from} start with {@code to} instead. */
        public Builder renamePrefix(String from, String to) {
            rules.add(new Prefix(Objects.requireNonNull(from), Objects.requireNonNull(to)));
            return this;
        }

        /** Drops keys that {@code regex} matches as a whole. */
        public Builder drop(String regex) {
            rules.add(new Drop(Pattern.compile(regex), false, "drop " + regex));
            return this;
        }

        /**
         * Drops keys matching a glob over the whole key: {@code *} is any run of characters (dots
         * included), {@code ?} one character; e.g. {@code *.relative_position_index} or
         * {@code *num_batches_tracked}.
         */
        public Builder dropGlob(String glob) {
            rules.add(new Drop(Pattern.compile(globToRegex(glob)), false, "drop glob " + glob));
            return this;
        }

        /** Drops every key that {@code regex} does not match as a whole. */
        public Builder keep(String regex) {
            rules.add(new Drop(Pattern.compile(regex), true, "keep " + regex));
            return this;
        }

        /**
         * Replaces each entry whose key {@code regex} matches as a whole by the entries
         * {@code fn(key, tensor)} returns (none drops it). Other entries pass through.
         */
        public Builder expand(String regex, BiFunction<String, TensorData, Map<String, TensorData>> fn) {
            rules.add(new Expand(Pattern.compile(regex), Objects.requireNonNull(fn)));
            return this;
        }

        /**
         * Replaces the whole state dict, as it stands after the preceding rules, by what {@code fn}
         * returns for it. Entries {@code fn} passes through unchanged (the same tensor object) keep
         * their origin.
         */
        public Builder transform(Function<StateDict, Map<String, TensorData>> fn) {
            rules.add(new Transform(Objects.requireNonNull(fn), "#" + rules.size()));
            return this;
        }

        public KeyMap build() {
            return new KeyMap(rules);
        }
    }

    static String globToRegex(String glob) {
        StringBuilder sb = new StringBuilder();
        StringBuilder lit = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                if (lit.length() > 0) {
                    sb.append(Pattern.quote(lit.toString()));
                    lit.setLength(0);
                }
                sb.append(c == '*' ? ".*" : ".");
            } else {
                lit.append(c);
            }
        }
        if (lit.length() > 0) sb.append(Pattern.quote(lit.toString()));
        return sb.toString();
    }
}
