package org.attnzoo.zoo.hub;

import org.attnzoo.sdk.model.Preprocessing;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The model registry: an immutable, validated list of {@link ModelEntry}s loaded from a JSON index.
 *
 * <p>Where it comes from ({@link #load(String, Env)}): an explicit location argument, else the
 * {@value Env#REGISTRY_VAR} environment variable, else the index bundled in the jar at
 * {@value #BUNDLED_RESOURCE}. A location is a file path, a {@code file:} URL or an
 * {@code http(s):} URL; it <em>replaces</em> the bundled index (use {@link #merge(Registry)} to
 * layer one registry over another).
 *
 * <p>Lookups: {@link #resolve(String)} takes {@code model} (default = first weight version) or
 * {@code model.tag}; {@link #list(String)} takes shell-style wildcards ({@code *}, {@code ?},
 * case-insensitive). Unknown names throw {@link UnknownModelException} with close matches.
 *
 * <p>The JSON schema is documented in the {@linkplain org.attnzoo.zoo.hub package documentation}.
 */
public final class Registry {

    /** Class-path location of the index shipped in the jar. */
    public static final String BUNDLED_RESOURCE = "/org/attnzoo/zoo/hub/registry.json";
    /** The schema version this code reads. */
    public static final int SCHEMA_VERSION = 1;

    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_\\-]*");
    static final Pattern TAG = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_\\-]*\\.[A-Za-z0-9][A-Za-z0-9_.+\\-]*");
    static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.+\\-]*");
    static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .registerModule(PreprocessingJson.MODULE);

    private static volatile Registry bundled;

    private final String source;
    private final List<ModelEntry> models;
    private final Map<String, ModelEntry> byName;

    /** The on-disk shape of the index. */
    record IndexFile(
            @JsonProperty(value = "schema_version", required = true) int schemaVersion,
            @JsonProperty(value = "models", required = true) List<ModelEntry> models) {
    }

    private Registry(String source, List<ModelEntry> models) {
        this.source = source;
        this.models = List.copyOf(models);
        Map<String, ModelEntry> map = new LinkedHashMap<>();
        for (ModelEntry m : models) {
            map.put(m.name(), m);
        }
        this.byName = map;
    }

    // ------------------------------------------------------------------ loading

    /** The registry bundled in the jar (parsed once). */
    public static Registry bundled() {
        Registry r = bundled;
        if (r == null) {
            synchronized (Registry.class) {
                r = bundled;
                if (r == null) {
                    try (InputStream in = Registry.class.getResourceAsStream(BUNDLED_RESOURCE)) {
                        if (in == null) {
                            throw new RegistryException("bundled registry " + BUNDLED_RESOURCE + " is missing from the class path");
                        }
                        r = parse(in, "bundled registry " + BUNDLED_RESOURCE);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    bundled = r;
                }
            }
        }
        return r;
    }

    /** {@link #load(String, Env)} with the process environment and no explicit location. */
    public static Registry load() throws IOException {
        return load(null, Env.system());
    }

    /** {@link #load(String, Env)} with no explicit location. */
    public static Registry load(Env env) throws IOException {
        return load(null, env);
    }

    /**
     * Loads the registry from {@code location} when not null/blank, else from
     * {@value Env#REGISTRY_VAR}, else the bundled index. An {@code http(s):} location is refused
     * when {@value Env#OFFLINE_VAR} is set.
     */
    public static Registry load(String location, Env env) throws IOException {
        return load(location, env, null);
    }

    /** {@link #load(String, Env)} fetching remote indexes through {@code http} (null: a downloader configured from {@code env}). */
    public static Registry load(String location, Env env, Downloader http) throws IOException {
        String loc = location != null && !location.isBlank() ? location.trim()
                : env.get(Env.REGISTRY_VAR).orElse(null);
        if (loc == null) {
            return bundled();
        }
        URI uri = asUri(loc);
        if (uri == null || "file".equalsIgnoreCase(uri.getScheme())) {
            return fromPath(uri == null ? Path.of(loc) : Path.of(uri));
        }
        if (env.flag(Env.OFFLINE_VAR)) {
            throw new IOException("offline mode (" + Env.OFFLINE_VAR + "=1): cannot load the registry from "
                    + loc + "; point " + Env.REGISTRY_VAR + " at a local file instead");
        }
        return fromUrl(uri, http != null ? http : Downloader.fromEnv(env));
    }

    /** Reads an index file. */
    public static Registry fromPath(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return parse(in, path.toString());
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "registry file not found");
        }
    }

    /** Reads an index from an {@code http(s):} or {@code file:} URL, with the process environment's HTTP settings. */
    public static Registry fromUrl(URI url) throws IOException {
        return fromUrl(url, Downloader.fromEnv(Env.system()));
    }

    /**
     * Reads an index from an {@code http(s):} or {@code file:} URL through {@code http}, the same
     * client (proxy, timeouts, user agent, redirects) that downloads the weights.
     */
    public static Registry fromUrl(URI url, Downloader http) throws IOException {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("file")) {
            return fromPath(Path.of(url));
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IOException("unsupported registry URL scheme: " + url);
        }
        byte[] body;
        try {
            body = http.fetchDocument(url, MAX_INDEX_BYTES, "application/json");
        } catch (DownloadException e) {
            if (e.kind() == DownloadException.Kind.NOT_FOUND) throw new IOException("registry not found at " + url, e);
            throw new IOException("cannot load the registry: " + e.getMessage(), e);
        }
        return parse(new java.io.ByteArrayInputStream(body), url.toString());
    }

    /** Largest index accepted (the bundled one is about 200 KB); a larger one is refused unread. */
    public static final int MAX_INDEX_BYTES = 32 << 20;

    /**
     * Parses and validates an index; {@code source} names it in error messages. At most
     * {@link #MAX_INDEX_BYTES} are read, and Jackson's stream constraints bound nesting (1,000),
     * number and string lengths, so a hostile index costs bounded memory and time.
     */
    public static Registry parse(InputStream in, String source) throws IOException {
        byte[] bytes = in.readNBytes(MAX_INDEX_BYTES + 1);
        if (bytes.length > MAX_INDEX_BYTES) {
            throw new RegistryException("registry " + source + ": larger than " + MAX_INDEX_BYTES + " bytes; refused");
        }
        IndexFile file;
        try {
            file = MAPPER.readValue(bytes, IndexFile.class);
        } catch (JsonProcessingException e) {
            Throwable root = e;
            while (root.getCause() instanceof JsonProcessingException && root.getCause() != root) {
                root = root.getCause();
            }
            if (root instanceof com.fasterxml.jackson.core.exc.StreamReadException bad
                    && !(root instanceof JsonMappingException)) {
                throw new RegistryException("registry " + source + ": invalid JSON: " + clean(bad.getOriginalMessage())
                        + location(bad), e);
            }
            throw new RegistryException("registry " + source + ": " + (e instanceof JsonMappingException m
                    ? describe(m) : clean(e.getOriginalMessage()) + location(e)), e);
        } catch (IOException e) {
            // e.g. Jackson's encoding detection taking the first bytes for UTF-32 (CharConversionException)
            throw new RegistryException("registry " + source + ": not readable as JSON text: " + clean(e.getMessage()), e);
        }
        if (file.schemaVersion() != SCHEMA_VERSION) {
            throw new RegistryException("registry " + source + ": schema_version " + file.schemaVersion()
                    + " is not supported (this build reads " + SCHEMA_VERSION + "); upgrade attnzoo");
        }
        return of(file.models(), source);
    }

    /** Parses and validates an index held in a string. */
    public static Registry parse(String json, String source) {
        try {
            return parse(new java.io.ByteArrayInputStream(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)), source);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A registry of the given entries (validated). */
    public static Registry of(List<ModelEntry> models, String source) {
        RegistryValidation.validate(models, source);
        return new Registry(source, models);
    }

    /**
     * This registry with {@code overlay}'s entries added; an overlay entry replaces an entry of
     * the same name.
     */
    public Registry merge(Registry overlay) {
        Map<String, ModelEntry> merged = new LinkedHashMap<>(byName);
        for (ModelEntry m : overlay.models) {
            merged.put(m.name(), m);
        }
        return of(new ArrayList<>(merged.values()), source + " + " + overlay.source);
    }

    /** This registry as an index JSON document. */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(new IndexFile(SCHEMA_VERSION, models));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ queries

    /** Where this registry was loaded from. */
    public String source() {
        return source;
    }

    /** All entries in index order. */
    public List<ModelEntry> models() {
        return models;
    }

    /** The entry called {@code name} (exact architecture name). */
    public Optional<ModelEntry> find(String name) {
        return Optional.ofNullable(lookup(name));
    }

    /** The entry whose name is {@code name}, or equals it ignoring case when exactly one does. */
    private ModelEntry lookup(String name) {
        ModelEntry m = byName.get(name);
        if (m != null || name == null) {
            return m;
        }
        ModelEntry hit = null;
        for (ModelEntry e : models) {
            if (e.name().equalsIgnoreCase(name)) {
                if (hit != null) {
                    return null;
                }
                hit = e;
            }
        }
        return hit;
    }

    /**
     * The entry called {@code name}.
     *
     * @throws UnknownModelException with suggestions when there is none
     */
    public ModelEntry model(String name) {
        ModelEntry m = lookup(name);
        if (m == null) {
            throw unknownModel(name);
        }
        return m;
    }

    /**
     * Resolves {@code model} (default weights) or {@code model.tag} ({@code tag} may be the short
     * tag, e.g. {@code convit_tiny.fb_in1k}).
     *
     * @throws UnknownModelException for an unknown model or tag, with close matches
     */
    public ResolvedModel resolve(String ref) {
        if (ref == null || ref.isBlank()) {
            throw new UnknownModelException("empty model name", String.valueOf(ref), List.of());
        }
        String r = ref.trim();
        int dot = r.indexOf('.');
        if (dot < 0) {
            ModelEntry m = model(r);
            return new ResolvedModel(m, m.defaultWeights());
        }
        String name = r.substring(0, dot);
        String tag = r.substring(dot + 1);
        ModelEntry m = lookup(name);
        if (m == null) {
            throw unknownModel(r);
        }
        return m.weights(tag).map(w -> new ResolvedModel(m, w)).orElseThrow(() -> {
            List<String> sugg = closest(r, m.tags());
            return new UnknownModelException("unknown weights '" + tag + "' for model " + name
                    + "; available: " + String.join(", ", m.tags()), r, sugg.isEmpty() ? m.tags() : sugg);
        });
    }

    /**
     * Entries matching a shell-style pattern ({@code *}, {@code ?}; case-insensitive), in index
     * order. A pattern without a dot is matched against architecture names ({@code convit_*});
     * a pattern with a dot against full tags ({@code *.fb_in1k}), returning the owning entries.
     */
    public List<ModelEntry> list(String pattern) {
        Pattern p = glob(pattern == null || pattern.isBlank() ? "*" : pattern.trim());
        boolean tags = pattern != null && pattern.indexOf('.') >= 0;
        List<ModelEntry> out = new ArrayList<>();
        for (ModelEntry m : models) {
            boolean hit = tags ? m.tags().stream().anyMatch(t -> p.matcher(t).matches()) : p.matcher(m.name()).matches();
            if (hit) {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * Full tags matching a pattern: a pattern with a dot is matched against tags, one without
     * against architecture names (all tags of each matching entry).
     */
    public List<String> listTags(String pattern) {
        String pat = pattern == null || pattern.isBlank() ? "*" : pattern.trim();
        Pattern p = glob(pat);
        boolean tags = pat.indexOf('.') >= 0;
        List<String> out = new ArrayList<>();
        for (ModelEntry m : models) {
            for (String t : m.tags()) {
                if (tags ? p.matcher(t).matches() : p.matcher(m.name()).matches()) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    /** Up to five names (or tags, if {@code ref} has a dot) closest to {@code ref}, best first. */
    public List<String> suggest(String ref) {
        List<String> candidates = new ArrayList<>();
        boolean tags = ref.indexOf('.') >= 0;
        for (ModelEntry m : models) {
            if (tags) {
                candidates.addAll(m.tags());
            } else {
                candidates.add(m.name());
            }
        }
        return closest(ref, candidates);
    }

    @Override
    public String toString() {
        return "Registry[" + source + ", " + models.size() + " models]";
    }

    private UnknownModelException unknownModel(String ref) {
        List<String> sugg = suggest(ref);
        StringBuilder msg = new StringBuilder("unknown model '").append(ref).append('\'');
        if (!sugg.isEmpty()) {
            msg.append("; did you mean ").append(String.join(", ", sugg)).append('?');
        }
        msg.append(" (").append(models.size()).append(" models in ").append(source).append(')');
        return new UnknownModelException(msg.toString(), ref, sugg);
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Up to five of {@code candidates} closest to {@code ref} (case-insensitive edit distance; a
     * fragment of three or more letters matches every name containing it), best first. The one
     * "did you mean" of the zoo: registry entries and buildable architectures both use it.
     */
    public static List<String> closest(String ref, java.util.Collection<String> candidates) {
        String q = ref.toLowerCase(Locale.ROOT);
        int budget = Math.max(2, q.length() / 3);
        record Scored(String s, int d) { }
        List<Scored> scored = new ArrayList<>();
        for (String c : candidates) {
            String lc = c.toLowerCase(Locale.ROOT);
            int d = editDistance(q, lc);
            if (q.length() >= 3 && (lc.startsWith(q) || lc.contains(q))) {
                d = Math.min(d, 1); // a fragment such as "convit" suggests every convit_*
            }
            if (d <= budget) {
                scored.add(new Scored(c, d));
            }
        }
        scored.sort(Comparator.comparingInt(Scored::d).thenComparing(Scored::s));
        return scored.stream().limit(5).map(Scored::s).toList();
    }

    /** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
    static int editDistance(String a, String b) {
        int n = a.length();
        int m = b.length();
        int[][] d = new int[n + 1][m + 1];
        for (int i = 0; i <= n; i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= m; j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= n; i++) {
            for (int j = 1; j <= m; j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    v = Math.min(v, d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        return d[n][m];
    }

    /** Shell-style wildcard to a case-insensitive regex: {@code *}, {@code ?}, everything else literal. */
    public static Pattern glob(String pattern) {
        StringBuilder re = new StringBuilder();
        StringBuilder lit = new StringBuilder();
        for (char ch : pattern.toCharArray()) {
            if (ch == '*' || ch == '?') {
                if (lit.length() > 0) {
                    re.append(Pattern.quote(lit.toString()));
                    lit.setLength(0);
                }
                re.append(ch == '*' ? ".*" : ".");
            } else {
                lit.append(ch);
            }
        }
        if (lit.length() > 0) {
            re.append(Pattern.quote(lit.toString()));
        }
        return Pattern.compile(re.toString(), Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    }

    private static URI asUri(String loc) {
        if (!loc.matches("(?i)(file|https?):.*")) {
            return null;
        }
        try {
            return new URI(loc);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URL: " + loc, e);
        }
    }

    private static String describe(JsonMappingException e) {
        String path = e.getPath().stream().map(ref -> ref.getFieldName() != null ? "." + ref.getFieldName()
                : "[" + ref.getIndex() + "]").reduce("", String::concat);
        return (path.isEmpty() ? "" : (path.startsWith(".") ? path.substring(1) : path) + ": ")
                + clean(e.getOriginalMessage()) + location(e);
    }

    private static String clean(String jacksonMessage) {
        return String.valueOf(jacksonMessage).replaceAll("\\[Source: [^;\\]]*; ", "[").replace("\n", " ");
    }

    private static String location(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr() + ")";
    }
}
