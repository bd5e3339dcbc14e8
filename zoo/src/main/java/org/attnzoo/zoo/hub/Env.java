package org.attnzoo.zoo.hub;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An injectable view of environment variables, so that the hub never calls {@link System#getenv()}
 * directly and tests can run without touching the real environment.
 *
 * <p>Blank values count as unset. The variables the hub reads are the {@code *_VAR} constants of
 * this class plus the usual proxy variables ({@code HTTPS_PROXY}, {@code HTTP_PROXY},
 * {@code NO_PROXY}, upper or lower case).
 */
public final class Env {

    /** Cache root; default {@code ~/.cache/attnzoo}. */
    public static final String HOME_VAR = "ATTNZOO_HOME";
    /** Registry location (file path, {@code file:}, {@code http(s):} URL) replacing the bundled one. */
    public static final String REGISTRY_VAR = "ATTNZOO_REGISTRY";
    /** Mirror base ({@code file:}/{@code http(s):} URL or a plain directory) replacing upstream hosts. */
    public static final String MIRROR_VAR = "ATTNZOO_MIRROR";
    /** {@code 1}/{@code true}/{@code yes}/{@code on}: never touch the network. */
    public static final String OFFLINE_VAR = "ATTNZOO_OFFLINE";
    /** Connect timeout in seconds (decimal allowed) or with a unit: {@code 500ms}, {@code 10s}, {@code 2m}. */
    public static final String CONNECT_TIMEOUT_VAR = "ATTNZOO_CONNECT_TIMEOUT";
    /** Read timeout (longest silence while waiting for bytes), same syntax as the connect timeout. */
    public static final String READ_TIMEOUT_VAR = "ATTNZOO_READ_TIMEOUT";

    private static final Env SYSTEM = new Env(System.getenv(), true);

    private final Map<String, String> vars;
    private final boolean system;

    private Env(Map<String, String> vars, boolean system) {
        this.vars = vars;
        this.system = system;
    }

    /** The process environment. */
    public static Env system() {
        return SYSTEM;
    }

    /** An environment holding exactly {@code vars} (copied). */
    public static Env of(Map<String, String> vars) {
        return new Env(Collections.unmodifiableMap(new HashMap<>(vars)), false);
    }

    /** An environment with no variables at all. */
    public static Env empty() {
        return of(Map.of());
    }

    /** A copy of this environment with {@code key} set ({@code null} value removes it). */
    public Env with(String key, String value) {
        Map<String, String> copy = new HashMap<>(vars);
        if (value == null) {
            copy.remove(key);
        } else {
            copy.put(key, value);
        }
        return new Env(Collections.unmodifiableMap(copy), false);
    }

    /** The value of {@code key}, empty when unset or blank. */
    public Optional<String> get(String key) {
        String v = vars.get(key);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
    }

    /** The first of {@code keys} that is set (used for {@code HTTPS_PROXY}/{@code https_proxy}). */
    public Optional<String> first(String... keys) {
        for (String k : keys) {
            Optional<String> v = get(k);
            if (v.isPresent()) {
                return v;
            }
        }
        return Optional.empty();
    }

    /**
     * A boolean switch: {@code 1, true, yes, on} are true; unset, {@code 0, false, no, off} are false.
     *
     * @throws IllegalArgumentException for any other value, naming the variable
     */
    public boolean flag(String key) {
        Optional<String> v = get(key);
        if (v.isEmpty()) {
            return false;
        }
        switch (v.get().toLowerCase(Locale.ROOT)) {
            case "1": case "true": case "yes": case "on":
                return true;
            case "0": case "false": case "no": case "off":
                return false;
            default:
                throw new IllegalArgumentException(
                        key + "=" + v.get() + " is not a switch; use 1/true/yes/on or 0/false/no/off");
        }
    }

    /**
     * A duration: a plain number is seconds ({@code 2.5}); suffixes {@code ms}, {@code s}, {@code m}
     * are accepted.
     *
     * @throws IllegalArgumentException for an unparsable or negative value, naming the variable
     */
    public Optional<Duration> duration(String key) {
        Optional<String> v = get(key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        String s = v.get().toLowerCase(Locale.ROOT);
        try {
            double scaleMs = 1000;
            if (s.endsWith("ms")) {
                scaleMs = 1;
                s = s.substring(0, s.length() - 2);
            } else if (s.endsWith("s")) {
                s = s.substring(0, s.length() - 1);
            } else if (s.endsWith("m")) {
                scaleMs = 60_000;
                s = s.substring(0, s.length() - 1);
            }
            double value = Double.parseDouble(s.trim());
            if (value < 0 || Double.isNaN(value) || Double.isInfinite(value)) {
                throw new NumberFormatException();
            }
            return Optional.of(Duration.ofMillis(Math.round(value * scaleMs)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    key + "=" + v.get() + " is not a duration; use seconds (e.g. 30 or 2.5) or 500ms / 30s / 2m");
        }
    }

    /**
     * The user's home directory: {@code HOME} (or {@code USERPROFILE}) from an injected map, the
     * {@code user.home} system property for {@link #system()} or when the map has neither.
     */
    public Path userHome() {
        if (!system) {
            Optional<String> home = first("HOME", "USERPROFILE");
            if (home.isPresent()) {
                return Path.of(home.get());
            }
        }
        return Path.of(System.getProperty("user.home"));
    }

    @Override
    public String toString() {
        return system ? "Env[system]" : "Env" + new java.util.TreeMap<>(vars);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Env e && e.system == system && e.vars.equals(vars);
    }

    @Override
    public int hashCode() {
        return Objects.hash(vars, system);
    }
}
