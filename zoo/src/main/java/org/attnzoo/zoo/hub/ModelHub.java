package org.attnzoo.zoo.hub;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Facade tying a {@link Registry}, a {@link ModelCache} and a {@link Downloader} together:
 * {@code ModelHub.fromEnv().fetch("convit_tiny")} resolves the name, and returns the cached,
 * verified weight files, downloading them first if needed.
 *
 * <p>Everything is configured from an {@link Env} (the process environment by default) unless set
 * explicitly on the {@link Builder}; see the {@linkplain org.attnzoo.zoo.hub package
 * documentation} for the variables.
 */
public final class ModelHub {

    private final Registry registry;
    private final ModelCache cache;
    private final Downloader downloader;

    private ModelHub(Registry registry, ModelCache cache, Downloader downloader) {
        this.registry = registry;
        this.cache = cache;
        this.downloader = downloader;
    }

    /** A hub configured from the process environment. */
    public static ModelHub fromEnv() throws IOException {
        return builder().build();
    }

    /** A hub configured from {@code env}. */
    public static ModelHub fromEnv(Env env) throws IOException {
        return builder().env(env).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configuration of a {@link ModelHub}. A {@link #downloader(Downloader)} given here wins over the downloader settings. */
    public static final class Builder {
        private Env env = Env.system();
        private Registry registry;
        private String registryLocation;
        private ModelCache cache;
        private Downloader downloader;
        private final Downloader.Builder dl = Downloader.builder();

        private Builder() {
        }

        /** Environment to read {@code ATTNZOO_*} variables from (default: the process environment). */
        public Builder env(Env env) {
            this.env = Objects.requireNonNull(env);
            dl.env(env);
            return this;
        }

        /** Use this registry (default: {@link Registry#load(String, Env)}). */
        public Builder registry(Registry registry) {
            this.registry = registry;
            return this;
        }

        /** Load the registry from a path or URL instead of {@code ATTNZOO_REGISTRY}/the bundled one. */
        public Builder registryLocation(String location) {
            this.registryLocation = location;
            return this;
        }

        /** Use this cache (default: {@link ModelCache#fromEnv(Env)}). */
        public Builder cache(ModelCache cache) {
            this.cache = cache;
            return this;
        }

        /** Cache root (default {@code ATTNZOO_HOME} or {@code ~/.cache/attnzoo}). */
        public Builder cacheRoot(Path root) {
            this.cache = new ModelCache(root);
            return this;
        }

        /** Use a fully configured downloader. */
        public Builder downloader(Downloader downloader) {
            this.downloader = downloader;
            return this;
        }

        /** See {@link Downloader.Builder#offline(boolean)}. */
        public Builder offline(boolean offline) {
            dl.offline(offline);
            return this;
        }

        /** See {@link Downloader.Builder#mirror(String)}. */
        public Builder mirror(String base) {
            dl.mirror(base);
            return this;
        }

        /** See {@link Downloader.Builder#progress(ProgressListener)}. */
        public Builder progress(ProgressListener p) {
            dl.progress(p);
            return this;
        }

        /** See {@link Downloader.Builder#connectTimeout(Duration)}. */
        public Builder connectTimeout(Duration d) {
            dl.connectTimeout(d);
            return this;
        }

        /** See {@link Downloader.Builder#readTimeout(Duration)}. */
        public Builder readTimeout(Duration d) {
            dl.readTimeout(d);
            return this;
        }

        /** See {@link Downloader.Builder#verifyMode(VerifyMode)}. */
        public Builder verifyMode(VerifyMode m) {
            dl.verifyMode(m);
            return this;
        }

        public ModelHub build() throws IOException {
            Downloader d = downloader != null ? downloader : dl.build();
            Registry r = registry != null ? registry : Registry.load(registryLocation, env, d);   // one HTTP client for both
            ModelCache c = cache != null ? cache : ModelCache.fromEnv(env);
            return new ModelHub(r, c, d);
        }
    }

    public Registry registry() {
        return registry;
    }

    public ModelCache cache() {
        return cache;
    }

    public Downloader downloader() {
        return downloader;
    }

    /** {@link Registry#resolve(String)}. */
    public ResolvedModel resolve(String ref) {
        return registry.resolve(ref);
    }

    /**
     * Returns the cached files of {@code model} or {@code model.tag}, downloading what is missing.
     *
     * @throws UnknownModelException unknown name or tag (with suggestions)
     * @throws OfflineException      offline and not cached
     * @throws DownloadException     download failures
     */
    public FetchedModel fetch(String ref) throws IOException {
        return downloader.fetch(registry.resolve(ref), cache);
    }

    /** Fetches an already resolved model. */
    public FetchedModel fetch(ResolvedModel model) throws IOException {
        return downloader.fetch(model, cache);
    }

    /** What {@link #fetch(String)} would have to download. Never touches the network. */
    public List<OfflineException.Missing> missing(String ref) throws IOException {
        return downloader.missing(registry.resolve(ref), cache);
    }

    /**
     * Adds a file obtained out of band to the cache as file {@code fileName} of {@code ref}; see
     * {@link Downloader#importFile}.
     */
    public CachedFile importFile(String ref, String fileName, Path file) throws IOException {
        ResolvedModel m = registry.resolve(ref);
        WeightFile wf = m.weights().file(fileName).orElseThrow(() -> new IllegalArgumentException(
                m.tag() + " has no file '" + fileName + "'; files: "
                        + m.weights().files().stream().map(WeightFile::name).toList()));
        return downloader.importFile(m.tag(), wf, file, cache);
    }

    /**
     * Copies the cached files of {@code ref} into a mirror directory ({@code <dir>/<tag>/<file>})
     * usable with {@code ATTNZOO_MIRROR=file:<dir>}; fetches them first if needed.
     */
    public List<Path> exportMirror(String ref, Path dir) throws IOException {
        FetchedModel f = fetch(ref);
        return cache.exportTo(f.tag(), dir);
    }
}
