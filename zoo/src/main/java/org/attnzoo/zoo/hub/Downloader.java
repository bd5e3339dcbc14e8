package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * Fetches registry weight files into a {@link ModelCache}.
 *
 * <p><b>Transfer</b> ({@link HttpTransfer}). {@code http(s):} via {@link HttpURLConnection} with connect and read
 * timeouts (the read timeout bounds every silence, including mid-body stalls) and manual
 * redirects (an {@code https} to {@code http} downgrade is refused); {@code file:} URLs are read
 * directly. Bytes stream into a {@code .part} file in the cache while being hashed with SHA-256.
 * A {@code .part} left by an interrupted download is <b>resumed</b> with
 * {@code Range: bytes=N-} (guarded by {@code If-Range} with the ETag or Last-Modified of the first
 * response); a {@code 206} continues it, a {@code 200} restarts from zero. Truncated bodies,
 * timeouts, resets and 5xx/429 are retried (resuming) up to {@link Builder#retries(int)} times.
 * The finished file is checked against the registry SHA-256 (or the pinned one) and size, then
 * atomically renamed to {@code blobs/sha256/<hex>}. On a mismatch the part file is deleted and a
 * {@link ChecksumMismatchException} carrying both hashes is thrown: nothing is left behind.
 * A hash that the registry does not know is pinned in {@code pins.json} on first download.
 *
 * <p><b>Concurrency.</b> Each download holds a file lock ({@code locks/<hash or url key>.lock},
 * {@link java.nio.channels.FileChannel#lock}); a second thread or process fetching the same file
 * waits (reporting {@code waiting for another process ...} through
 * {@link ProgressListener#onMessage}) and then finds the finished file without downloading it.
 *
 * <p><b>Sources and mirrors.</b> The sources of a file are tried in registry order; the first that
 * succeeds wins. With a mirror ({@value Env#MIRROR_VAR} or {@link Builder#mirror(String)}), every
 * {@code http(s)} source URL is replaced by
 * <pre>   &lt;mirror base&gt;/&lt;tag&gt;/&lt;source file name&gt;</pre>
 * e.g. {@code https://mirror.corp/attnzoo/convit_tiny.fb_in1k/model.safetensors} or, for a
 * {@code file:} mirror / plain directory, {@code /srv/attnzoo/convit_tiny.fb_in1k/model.safetensors};
 * the source file name is the file's {@code name} for plain URL sources and the source's own
 * {@code name} for object sources (so a fallback {@code .pth} is looked up as
 * {@code <tag>/convit_tiny.pth}). Upstream hosts are then never contacted; hashes and pins are
 * still enforced. {@link ModelCache#exportTo(String, Path)} writes exactly this layout.
 *
 * <p><b>Offline.</b> With {@value Env#OFFLINE_VAR}{@code =1} or {@link Builder#offline(boolean)},
 * no network connection is ever opened: cached files are used, {@code file:} sources (and a
 * {@code file:} mirror) are still read, and anything else raises an {@link OfflineException}
 * listing each missing file, its URLs and how to obtain it.
 *
 * <p><b>Proxies.</b> {@code HTTPS_PROXY}/{@code HTTP_PROXY} (either case) and {@code NO_PROXY}
 * from the {@link Env} are honoured (host:port only; loopback is never proxied); otherwise the
 * JVM's proxy settings ({@code -Dhttps.proxyHost=...}) apply.
 */
public final class Downloader {

    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Env env;
    private final boolean offline;
    private final String offlineReason;
    private final String mirror;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final int retries;
    private final Duration retryBackoff;
    private final Duration lockTimeout;
    private final ProgressListener progress;
    private final VerifyMode verifyMode;
    private final String userAgent;
    private final HttpTransfer transfer;

    private Downloader(Builder b) {
        this.env = b.env;
        if (b.offline != null) {
            this.offline = b.offline;
            this.offlineReason = "offline(true)";
        } else {
            this.offline = env.flag(Env.OFFLINE_VAR);
            this.offlineReason = Env.OFFLINE_VAR + "=" + env.get(Env.OFFLINE_VAR).orElse("");
        }
        String m = b.mirror != null ? b.mirror : env.get(Env.MIRROR_VAR).orElse("");
        this.mirror = m.isBlank() ? null : stripTrailingSlash(m.trim());
        this.connectTimeout = b.connectTimeout != null ? b.connectTimeout
                : env.duration(Env.CONNECT_TIMEOUT_VAR).orElse(Duration.ofSeconds(15));
        this.readTimeout = b.readTimeout != null ? b.readTimeout
                : env.duration(Env.READ_TIMEOUT_VAR).orElse(Duration.ofSeconds(60));
        this.retries = b.retries;
        this.retryBackoff = b.retryBackoff;
        this.lockTimeout = b.lockTimeout;
        this.progress = b.progress;
        this.verifyMode = b.verifyMode;
        this.userAgent = b.userAgent != null ? b.userAgent : defaultUserAgent();
        this.transfer = new HttpTransfer(env, offline, offlineReason, connectTimeout, readTimeout, retries, retryBackoff, progress, userAgent);
    }

    /**
     * GETs a small document (a remote registry index) over the same HTTP client as downloads: the
     * proxy settings, timeouts, user agent and redirect rules this downloader honours. Reads at most
     * {@code maxBytes + 1} bytes, so a caller can refuse an oversized answer unread.
     */
    public byte[] fetchDocument(URI url, int maxBytes, String accept) throws IOException {
        return transfer.fetchDocument(url, maxBytes, accept);
    }

    /** The proxy for {@code url} according to the environment, null for the JVM default. */
    java.net.Proxy proxyFor(URI url) {
        return transfer.proxyFor(url);
    }

    /** A new builder (reads the process environment unless {@link Builder#env(Env)} is given). */
    public static Builder builder() {
        return new Builder();
    }

    /** A downloader configured from {@code env} only. */
    public static Downloader fromEnv(Env env) {
        return builder().env(env).build();
    }

    /** Configuration of a {@link Downloader}; explicit settings win over environment variables. */
    public static final class Builder {
        private Env env = Env.system();
        private Boolean offline;
        private String mirror;
        private Duration connectTimeout;
        private Duration readTimeout;
        private int retries = 3;
        private Duration retryBackoff = Duration.ofSeconds(1);
        private Duration lockTimeout = Duration.ofHours(1);
        private ProgressListener progress = ProgressListener.NONE;
        private VerifyMode verifyMode = VerifyMode.QUICK;
        private String userAgent;

        private Builder() {
        }

        /** Where {@value Env#OFFLINE_VAR}, {@value Env#MIRROR_VAR}, timeouts and proxies are read from. */
        public Builder env(Env env) {
            this.env = Objects.requireNonNull(env);
            return this;
        }

        /** Forces offline mode on or off, ignoring {@value Env#OFFLINE_VAR}. */
        public Builder offline(boolean offline) {
            this.offline = offline;
            return this;
        }

        /** Mirror base replacing upstream hosts ({@code ""} = none, ignoring {@value Env#MIRROR_VAR}). */
        public Builder mirror(String mirrorBase) {
            this.mirror = Objects.requireNonNull(mirrorBase);
            return this;
        }

        /** TCP connect timeout (default 15 s or {@value Env#CONNECT_TIMEOUT_VAR}). */
        public Builder connectTimeout(Duration d) {
            this.connectTimeout = positive(d);
            return this;
        }

        /** Longest wait for any bytes, headers or body (default 60 s or {@value Env#READ_TIMEOUT_VAR}). */
        public Builder readTimeout(Duration d) {
            this.readTimeout = positive(d);
            return this;
        }

        /** How often a transient failure of one URL is retried, resuming (default 3). */
        public Builder retries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("retries < 0");
            }
            this.retries = retries;
            return this;
        }

        /** Delay before the first retry, doubling after each (default 1 s). */
        public Builder retryBackoff(Duration d) {
            this.retryBackoff = Objects.requireNonNull(d);
            return this;
        }

        /** How long to wait for another process's download of the same file (default 1 h). */
        public Builder lockTimeout(Duration d) {
            this.lockTimeout = positive(d);
            return this;
        }

        /** Progress callbacks (default none); see {@link ProgressReporters#forConsole()}. */
        public Builder progress(ProgressListener p) {
            this.progress = Objects.requireNonNull(p);
            return this;
        }

        /** How cached files are checked before use (default {@link VerifyMode#QUICK}). */
        public Builder verifyMode(VerifyMode m) {
            this.verifyMode = Objects.requireNonNull(m);
            return this;
        }

        /** User-Agent header (default {@code attnzoo/<version> java/<version>}). */
        public Builder userAgent(String ua) {
            this.userAgent = Objects.requireNonNull(ua);
            return this;
        }

        public Downloader build() {
            return new Downloader(this);
        }

        private static Duration positive(Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("duration must be positive: " + d);
            }
            return d;
        }
    }

    // ------------------------------------------------------------------ accessors

    /** True when no network connection will be opened. */
    public boolean offline() {
        return offline;
    }

    /** The mirror base, if any. */
    public Optional<String> mirror() {
        return Optional.ofNullable(mirror);
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration readTimeout() {
        return readTimeout;
    }

    public ProgressListener progress() {
        return progress;
    }

    public VerifyMode verifyMode() {
        return verifyMode;
    }

    // ------------------------------------------------------------------ fetching

    /**
     * Makes every file of {@code model} available in {@code cache}, downloading what is missing or
     * corrupt.
     *
     * @throws OfflineException          offline and something is not cached (lists all of it)
     * @throws ChecksumMismatchException the only source delivered bytes with the wrong hash
     * @throws DownloadException         other failures, one line each
     */
    public FetchedModel fetch(ResolvedModel model, ModelCache cache) throws IOException {
        String tag = model.tag();
        List<CachedFile> have = new ArrayList<>();
        List<WeightFile> todo = new ArrayList<>();
        for (WeightFile f : model.weights().files()) {
            Optional<CachedFile> c = usable(tag, f, cache);
            if (c.isPresent()) {
                have.add(c.get());
            } else {
                todo.add(f);
            }
        }
        if (!todo.isEmpty() && offline) {
            List<WeightFile> unreachable = todo.stream().filter(f -> candidates(tag, f).stream()
                    .noneMatch(c -> HttpTransfer.isLocal(c.url()))).toList();
            if (!unreachable.isEmpty()) {
                throw offlineError(tag, unreachable, cache);
            }
        }
        for (WeightFile f : todo) {
            have.add(download(tag, f, cache));
        }
        List<CachedFile> ordered = new ArrayList<>();
        for (WeightFile f : model.weights().files()) {
            have.stream().filter(c -> c.name().equals(f.name())).findFirst().ifPresent(ordered::add);
        }
        return new FetchedModel(model, ordered);
    }

    /** Makes one file of a weights tag available in {@code cache}. */
    public CachedFile fetchFile(String tag, WeightFile file, ModelCache cache) throws IOException {
        Optional<CachedFile> c = usable(tag, file, cache);
        if (c.isPresent()) {
            return c.get();
        }
        if (offline && candidates(tag, file).stream().noneMatch(x -> HttpTransfer.isLocal(x.url()))) {
            throw offlineError(tag, List.of(file), cache);
        }
        return download(tag, file, cache);
    }

    /** The files of {@code model} that are not (validly) cached, with their URLs. No network. */
    public List<OfflineException.Missing> missing(ResolvedModel model, ModelCache cache) throws IOException {
        List<OfflineException.Missing> out = new ArrayList<>();
        for (WeightFile f : model.weights().files()) {
            if (usable(model.tag(), f, cache).isEmpty()) {
                out.add(new OfflineException.Missing(model.tag(), f.name(),
                        candidates(model.tag(), f).stream().map(c -> c.url().toString()).toList()));
            }
        }
        return out;
    }

    /**
     * Adds a file obtained by other means (e.g. copied from a machine with network access) to the
     * cache as {@code tag}/{@code file}. It must match a known or pinned hash of one of the file's
     * sources; otherwise it is pinned as the first source whose name matches the file name given.
     */
    public CachedFile importFile(String tag, WeightFile file, Path local, ModelCache cache) throws IOException {
        if (!Files.isRegularFile(local)) {
            throw new NoSuchFileException(local.toString());
        }
        String sha = Hashing.sha256Hex(local);
        List<WeightSource> sources = file.sources();
        WeightSource chosen = null;
        for (WeightSource s : sources) {
            String expected = expectedHash(s, cache);
            if (sha.equals(expected)) {
                chosen = s;
                break;
            }
        }
        if (chosen == null) {
            String fname = local.getFileName().toString();
            WeightSource byName = sources.stream().filter(s -> s.name().equals(fname)).findFirst().orElse(sources.get(0));
            String expected = expectedHash(byName, cache);
            if (expected != null) {
                throw new ChecksumMismatchException(local.toUri(), byName.name(), expected, sha, byName.sha256() == null);
            }
            chosen = byName;
        }
        String key = lockKey(chosen, cache);
        try (CacheLock l = cache.lockDownload(key, lockTimeout, "importing " + tag + "/" + file.name(), progress::onMessage)) {
            Path part = cache.partPath(key);
            Files.createDirectories(part.getParent());
            Files.copy(local, part, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            boolean pinNew = expectedHash(chosen, cache) == null;
            return cache.commit(tag, file.name(), chosen, local.toUri(), part, sha, Files.size(part), pinNew);
        }
    }

    /**
     * The URLs a file would be fetched from, in order, after the mirror mapping (deduplicated).
     */
    public List<URI> candidateUrls(String tag, WeightFile file) {
        return candidates(tag, file).stream().map(Candidate::url).toList();
    }

    /**
     * The mirror URL of a file: {@code <base>/<tag>/<fileName>}. A base without a scheme is a
     * local directory.
     */
    public static URI mirrorUrl(String base, String tag, String fileName) {
        String b = stripTrailingSlash(base.trim());
        if (b.regionMatches(true, 0, "file:", 0, 5)) {
            return Path.of(URI.create(b)).resolve(tag).resolve(fileName).toUri();
        }
        if (b.regionMatches(true, 0, "http://", 0, 7) || b.regionMatches(true, 0, "https://", 0, 8)) {
            return URI.create(b + "/" + tag + "/" + fileName);
        }
        if (b.matches("(?i)[a-z][a-z0-9+.-]*://.*")) {
            throw new IllegalArgumentException("unsupported mirror scheme (use file:, http:, https: or a directory): " + base);
        }
        return Path.of(b).toAbsolutePath().resolve(tag).resolve(fileName).toUri();
    }

    // ------------------------------------------------------------------ internals: cache checks

    private record Candidate(WeightSource source, URI url) {
    }

    private List<Candidate> candidates(String tag, WeightFile file) {
        Map<String, Candidate> out = new LinkedHashMap<>();
        for (WeightSource s : file.sources()) {
            URI u = mirror != null && !s.isLocal() ? mirrorUrl(mirror, tag, s.name()) : s.url();
            out.putIfAbsent(u.toString(), new Candidate(s, u));
        }
        return new ArrayList<>(out.values());
    }

    /** The cached entry for this file if it is present, intact and still matches the registry. */
    private Optional<CachedFile> usable(String tag, WeightFile file, ModelCache cache) throws IOException {
        ModelCache.BlobCheck chk = cache.checkCached(tag, file.name(), verifyMode);
        CachedFile cf = chk.file();
        if (cf == null) {
            return Optional.empty();
        }
        boolean matches = false;
        for (WeightSource s : file.sources()) {
            if (cf.sha256().equals(s.sha256())
                    || (s.sha256() == null && s.url().equals(cf.source()))) {
                matches = true;
                break;
            }
        }
        if (!matches) {
            progress.onMessage("cached " + tag + "/" + file.name() + " (sha256 " + cf.sha256()
                    + ") no longer matches the registry; fetching again");
            return Optional.empty();
        }
        switch (chk.state()) {
            case OK:
                return Optional.of(cf);
            case MISSING:
                progress.onMessage("cached " + tag + "/" + file.name() + " is missing from " + cf.path() + "; fetching again");
                return Optional.empty();
            default:
                progress.onMessage("cached " + tag + "/" + file.name() + " is corrupt (expected sha256 " + cf.sha256()
                        + ", got " + chk.actual() + "); fetching again");
                cache.discard(tag, file.name(), cf.sha256());
                return Optional.empty();
        }
    }

    private static String expectedHash(WeightSource s, ModelCache cache) {
        return s.sha256() != null ? s.sha256() : cache.pin(s.url()).map(Pin::sha256).orElse(null);
    }

    private static String lockKey(WeightSource s, ModelCache cache) {
        String expected = expectedHash(s, cache);
        return expected != null ? expected : "url-" + Hashing.sha256Hex(s.url().toString()).substring(0, 32);
    }

    // ------------------------------------------------------------------ internals: downloading

    private CachedFile download(String tag, WeightFile file, ModelCache cache) throws IOException {
        List<Candidate> cands = candidates(tag, file);
        if (offline) {
            cands = cands.stream().filter(c -> HttpTransfer.isLocal(c.url())).toList();
        }
        List<DownloadException> failures = new ArrayList<>();
        for (int i = 0; i < cands.size(); i++) {
            Candidate c = cands.get(i);
            try {
                return downloadFrom(tag, file, c.source(), c.url(), cache);
            } catch (DownloadException e) {
                if (e.kind() == DownloadException.Kind.LOCK_TIMEOUT) {
                    throw e;
                }
                failures.add(e);
                if (i + 1 < cands.size()) {
                    progress.onMessage(e.getMessage() + "; trying the next source");
                }
            }
        }
        if (failures.size() == 1) {
            throw failures.get(0);
        }
        StringBuilder msg = new StringBuilder("could not fetch ").append(tag).append('/').append(file.name())
                .append(" from any of ").append(failures.size()).append(" sources: ");
        for (int i = 0; i < failures.size(); i++) {
            msg.append(i == 0 ? "" : "; ").append('[').append(i + 1).append("] ").append(failures.get(i).getMessage());
        }
        DownloadException all = new DownloadException(DownloadException.Kind.ALL_SOURCES_FAILED, null, msg.toString());
        failures.forEach(all::addSuppressed);
        throw all;
    }

    private CachedFile downloadFrom(String tag, WeightFile file, WeightSource src, URI url, ModelCache cache)
            throws IOException {
        String label = tag + "/" + src.name();
        String key = lockKey(src, cache);
        boolean pinned = src.sha256() == null;
        try (CacheLock lock = cache.lockDownload(key, lockTimeout, "downloading " + label + " from " + url,
                progress::onMessage)) {
            // Another thread or process may have completed it while we waited for the lock.
            String expected = expectedHash(src, cache);
            if (expected != null && Files.isRegularFile(cache.blobPath(expected))) {
                Optional<CachedFile> idx = cache.lookup(tag, file.name());
                if (idx.isPresent() && idx.get().sha256().equals(expected)) {
                    ModelCache.BlobCheck chk = cache.checkCached(tag, file.name(), verifyMode);
                    if (chk.state() == ModelCache.BlobState.OK) {
                        return chk.file();
                    }
                } else {
                    Path blob = cache.blobPath(expected);
                    if (Hashing.sha256Hex(blob).equals(expected)) {
                        return cache.record(tag, file.name(), src, url, expected, Files.size(blob), pinned);
                    }
                }
                progress.onMessage("cached blob " + cache.blobPath(expected) + " is corrupt; downloading again");
                cache.discard(tag, file.name(), expected);
            }
            Path part = cache.partPath(key);
            HttpTransfer.Transfer t = transfer.transferWithRetries(url, part, src, label);
            if (expected != null && !t.sha256().equals(expected)) {
                HttpTransfer.deletePart(part);
                throw new ChecksumMismatchException(url, src.name(), expected, t.sha256(), pinned);
            }
            if (src.size() != null && t.size() != src.size()) {
                HttpTransfer.deletePart(part);
                throw new DownloadException(DownloadException.Kind.SIZE_MISMATCH, url, "size mismatch for " + src.name()
                        + " from " + url + ": expected " + src.size() + " bytes, got " + t.size());
            }
            Files.deleteIfExists(HttpTransfer.metaPath(part));
            return cache.commit(tag, file.name(), src, url, part, t.sha256(), t.size(), expected == null);
        }
    }



















    private OfflineException offlineError(String tag, List<WeightFile> files, ModelCache cache) {
        List<OfflineException.Missing> missing = new ArrayList<>();
        StringBuilder msg = new StringBuilder("offline mode (").append(offlineReason).append("): ")
                .append(files.size()).append(files.size() == 1 ? " file" : " files").append(" of ").append(tag)
                .append(files.size() == 1 ? " is" : " are").append(" not in the cache at ").append(cache.root()).append(':');
        for (WeightFile f : files) {
            List<String> urls = candidates(tag, f).stream().map(c -> c.url().toString()).toList();
            missing.add(new OfflineException.Missing(tag, f.name(), urls));
            msg.append("\n  - ").append(f.name()).append(" (").append(f.format().id())
                    .append(f.size() != null ? ", " + ProgressReporters.humanBytes(f.size()) : "")
                    .append(f.sha256() != null ? ", sha256 " + f.sha256() : "").append(")");
            for (String u : urls) {
                msg.append("\n      ").append(u);
            }
        }
        String first = files.get(0).sources().get(0).name();
        msg.append("\nTo get ").append(files.size() == 1 ? "it" : "them").append(": run once with network access (unset ")
                .append(Env.OFFLINE_VAR).append("); or on a connected machine fetch ").append(tag)
                .append(" and copy its files to <dir>/").append(tag).append('/').append(first)
                .append(" (ModelCache.exportTo does this), then set ").append(Env.MIRROR_VAR).append("=file:<dir>")
                .append("; or download a URL above by hand and add it with `attnzoo import ").append(tag)
                .append(' ').append(files.size() == 1 ? "" : "--as " + files.get(0).name() + " ").append("FILE`")
                .append(" (from Java: ModelHub.importFile(\"").append(tag)
                .append("\", \"").append(files.get(0).name()).append("\", path)).");
        return new OfflineException(msg.toString(), missing);
    }

    // ------------------------------------------------------------------ small helpers





    private static String stripTrailingSlash(String s) {
        String r = s;
        while (r.length() > 1 && r.endsWith("/") && !r.endsWith(":/") && !r.endsWith("://")) {
            r = r.substring(0, r.length() - 1);
        }
        return r;
    }

    /** {@code 10s}, {@code 1.5s}, {@code 0.25s}. */
    static String seconds(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 == 0) {
            return (ms / 1000) + "s";
        }
        return java.math.BigDecimal.valueOf(ms, 3).stripTrailingZeros().toPlainString() + "s";
    }

    /** {@code attnzoo/<version> java/<version>}. */
    static String defaultUserAgent() {
        String v = "dev";
        try (InputStream in = Downloader.class.getResourceAsStream("/org/attnzoo/zoo/version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String pv = p.getProperty("version", v);
                v = pv.isBlank() || pv.contains("${") ? v : pv;
            }
        } catch (IOException | InvalidPathException ignored) {
            // keep "dev"
        }
        return "attnzoo/" + v + " java/" + System.getProperty("java.version");
    }
}
