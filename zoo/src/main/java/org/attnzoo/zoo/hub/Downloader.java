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
 * <p><b>Transfer.</b> {@code http(s):} via {@link HttpURLConnection} with connect and read
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

    private static final int MAX_REDIRECTS = 10;
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern CONTENT_RANGE_UNSAT = Pattern.compile("bytes\\s+\\*/(\\d+)");

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
                    .noneMatch(c -> isLocal(c.url()))).toList();
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
        if (offline && candidates(tag, file).stream().noneMatch(x -> isLocal(x.url()))) {
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
            cands = cands.stream().filter(c -> isLocal(c.url())).toList();
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
            Transfer t = transferWithRetries(url, part, src, label);
            if (expected != null && !t.sha256().equals(expected)) {
                deletePart(part);
                throw new ChecksumMismatchException(url, src.name(), expected, t.sha256(), pinned);
            }
            if (src.size() != null && t.size() != src.size()) {
                deletePart(part);
                throw new DownloadException(DownloadException.Kind.SIZE_MISMATCH, url, "size mismatch for " + src.name()
                        + " from " + url + ": expected " + src.size() + " bytes, got " + t.size());
            }
            Files.deleteIfExists(metaPath(part));
            return cache.commit(tag, file.name(), src, url, part, t.sha256(), t.size(), expected == null);
        }
    }

    private record Transfer(String sha256, long size) {
    }

    /** Resume validators of a part file. */
    record PartMeta(@JsonProperty("url") String url, @JsonProperty("etag") String etag,
                    @JsonProperty("last_modified") String lastModified) {
    }

    private Transfer transferWithRetries(URI url, Path part, WeightSource src, String label) throws IOException {
        Files.createDirectories(part.getParent());
        int attempt = 0;
        while (true) {
            try {
                return isLocal(url) ? copyLocal(url, part, src, label) : transferHttp(url, part, src, label);
            } catch (DownloadException e) {
                if (!e.retriable() || attempt >= retries) {
                    throw e;
                }
                attempt++;
                long delay = retryBackoff.toMillis() << Math.min(attempt - 1, 10);
                progress.onMessage(e.getMessage() + "; retrying (" + attempt + "/" + retries + ")"
                        + (Files.exists(part) ? ", resuming" : ""));
                sleep(delay);
            }
        }
    }

    private Transfer copyLocal(URI url, Path part, WeightSource src, String label) throws IOException {
        Path from;
        try {
            from = WeightSource.CLASSPATH.equalsIgnoreCase(url.getScheme()) ? extractResource(url) : Path.of(url);
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new DownloadException(DownloadException.Kind.NOT_FOUND, url, "not found at " + url + " (unusable file URL)");
        }
        if (!Files.isRegularFile(from)) {
            throw new DownloadException(DownloadException.Kind.NOT_FOUND, url, "not found at " + url);
        }
        long total = Files.size(from);
        long have = resumableBytes(part, url, src.size(), label);
        if (have > total) {
            deletePart(part);
            have = 0;
        }
        writeMeta(part, new PartMeta(url.toString(), null, null));
        MessageDigest md = Hashing.sha256();
        if (have > 0) {
            Hashing.update(md, part, have);
        }
        progress.onStart(label, have, total);
        boolean ok = false;
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            out.truncate(have);
            out.position(have);
            in.position(have);
            ByteBuffer buf = ByteBuffer.allocate(Hashing.BUFFER);
            long done = have;
            while (in.read(buf) > 0) {
                buf.flip();
                md.update(buf.array(), 0, buf.limit());
                while (buf.hasRemaining()) {
                    out.write(buf);
                }
                done += buf.limit();
                buf.clear();
                progress.onProgress(done, total);
            }
            out.force(true);
            ok = true;
            return new Transfer(Hashing.hex(md.digest()), done);
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.IO, url, "I/O error copying " + url + " to " + part + ": "
                    + e.getMessage(), false, e);
        } finally {
            progress.onFinish(ok);
        }
    }

    private Transfer transferHttp(URI url, Path part, WeightSource src, String label) throws IOException {
        long have = resumableBytes(part, url, src.size(), label);
        PartMeta meta = have > 0 ? readMeta(part) : null;
        HttpURLConnection c = null;
        boolean started = false;
        boolean ok = false;
        long done = have;
        long total = -1;
        try {
            final long from = have;
            final PartMeta resume = meta;
            c = connect(url, conn -> {
                if (from > 0) {
                    conn.setRequestProperty("Range", "bytes=" + from + "-");
                    String validator = resume == null ? null
                            : resume.etag() != null && !resume.etag().startsWith("W/") ? resume.etag() : resume.lastModified();
                    if (validator != null) {
                        conn.setRequestProperty("If-Range", validator);
                    }
                }
            });
            int code = c.getResponseCode();
            MessageDigest md = Hashing.sha256();
            switch (code) {
                case 200: {
                    if (have > 0) {
                        progress.onMessage("server sent the whole file instead of resuming " + label + "; restarting");
                    }
                    have = 0;
                    total = c.getContentLengthLong();
                    break;
                }
                case 206: {
                    Matcher m = CONTENT_RANGE.matcher(String.valueOf(c.getHeaderField("Content-Range")));
                    if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                        deletePart(part);
                        throw new DownloadException(DownloadException.Kind.CONNECTION, url, "server resumed at the wrong offset ("
                                + c.getHeaderField("Content-Range") + ", wanted " + have + ") at " + url, true, null);
                    }
                    total = m.group(3).equals("*") ? have + c.getContentLengthLong() : Long.parseLong(m.group(3));
                    Hashing.update(md, part, have);
                    break;
                }
                case 416: {
                    Matcher m = CONTENT_RANGE_UNSAT.matcher(String.valueOf(c.getHeaderField("Content-Range")));
                    if (have > 0 && m.matches() && Long.parseLong(m.group(1)) == have) {
                        Hashing.update(md, part, have); // the part is already complete
                        return new Transfer(Hashing.hex(md.digest()), have);
                    }
                    deletePart(part);
                    throw new DownloadException(DownloadException.Kind.CONNECTION, url,
                            "server rejected the resume range at " + url, true, null);
                }
                default:
                    throw statusError(code, c.getResponseMessage(), url);
            }
            if (have == 0) {
                writeMeta(part, new PartMeta(url.toString(), c.getHeaderField("ETag"), c.getHeaderField("Last-Modified")));
            }
            progress.onStart(label, have, total);
            started = true;
            done = have;
            try (InputStream in = c.getInputStream();
                 FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                out.truncate(have);
                out.position(have);
                byte[] buf = new byte[Hashing.BUFFER];
                ByteBuffer bb = ByteBuffer.wrap(buf);
                int r;
                while ((r = readBody(in, buf, url, done, total)) >= 0) {
                    if (r == 0) {
                        continue;
                    }
                    md.update(buf, 0, r);
                    bb.clear().limit(r);
                    writeFully(out, bb, part, url);
                    done += r;
                    progress.onProgress(done, total);
                }
                if (total >= 0 && done < total) {
                    out.force(true);
                    throw new DownloadException(DownloadException.Kind.CONNECTION, url, "connection closed after " + done
                            + " of " + total + " bytes at " + url, true, null);
                }
                out.force(true);
            }
            ok = true;
            return new Transfer(Hashing.hex(md.digest()), done);
        } catch (DownloadException e) {
            throw e;
        } catch (SocketTimeoutException e) {
            boolean connecting = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("connect");
            throw new DownloadException(DownloadException.Kind.TIMEOUT, url, "timed out after "
                    + seconds(connecting ? connectTimeout : readTimeout) + " at " + url + (connecting ? " (connecting)" : ""),
                    true, e);
        } catch (UnknownHostException e) {
            throw new DownloadException(DownloadException.Kind.CONNECTION, url, "unknown host " + url.getHost() + " at " + url
                    + " (no network? set " + Env.OFFLINE_VAR + "=1 to use only the cache, or " + Env.MIRROR_VAR + ")",
                    false, e);
        } catch (ConnectException | NoRouteToHostException e) {
            throw new DownloadException(DownloadException.Kind.CONNECTION, url, "cannot connect to " + url + ": "
                    + e.getMessage(), false, e);
        } catch (SSLException e) {
            throw new DownloadException(DownloadException.Kind.CONNECTION, url, "TLS error at " + url + ": " + e.getMessage()
                    + " (behind an intercepting proxy? add its CA with -Djavax.net.ssl.trustStore=...)", false, e);
        } catch (InterruptedIOException e) {
            throw e;
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.CONNECTION, url, "connection failed after " + done + " bytes at "
                    + url + ": " + e, true, e);
        } finally {
            if (started) {
                progress.onFinish(ok);
            }
            if (c != null) {
                c.disconnect();
            }
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer bb, Path part, URI url) throws DownloadException {
        try {
            while (bb.hasRemaining()) {
                out.write(bb);
            }
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.IO, url, "cannot write " + part + " while downloading "
                    + url + ": " + e.getMessage(), false, e);
        }
    }

    private int readBody(InputStream in, byte[] buf, URI url, long done, long total) throws IOException {
        try {
            return in.read(buf);
        } catch (SocketTimeoutException e) {
            throw new DownloadException(DownloadException.Kind.TIMEOUT, url, "timed out after " + seconds(readTimeout)
                    + " at " + url + " (after " + done + (total >= 0 ? " of " + total : "") + " bytes)", true, e);
        }
    }

    /**
     * Opens {@code url} with this downloader's proxy, timeouts and user agent, following up to
     * {@value #MAX_REDIRECTS} redirects (never from https to http); {@code configure} sets request
     * headers on each hop. Returns the connection of the final response (its code already read).
     */
    private HttpURLConnection connect(URI url, java.util.function.Consumer<HttpURLConnection> configure) throws IOException {
        URI current = url;
        for (int hop = 0; ; hop++) {
            HttpURLConnection c = open(current);
            configure.accept(c);
            int code = c.getResponseCode();
            if (code < 300 || code >= 400 || code == 304) return c;
            String loc = c.getHeaderField("Location");
            c.disconnect();
            if (loc == null || hop >= MAX_REDIRECTS) {
                throw new DownloadException(DownloadException.Kind.HTTP_STATUS, url, (loc == null
                        ? "HTTP " + code + " without a Location header at " : "too many redirects at ") + url);
            }
            URI next = current.resolve(loc);
            if ("https".equalsIgnoreCase(current.getScheme()) && !"https".equalsIgnoreCase(next.getScheme())) {
                throw new DownloadException(DownloadException.Kind.HTTP_STATUS, url,
                        "refusing redirect from https to " + next.getScheme() + " at " + url);
            }
            current = next;
        }
    }

    /**
     * GETs a small document (a remote registry index) over the same HTTP client as downloads: the
     * proxy settings, timeouts, user agent and redirect rules this downloader honours. Reads at most
     * {@code maxBytes + 1} bytes, so a caller can refuse an oversized answer unread.
     */
    public byte[] fetchDocument(URI url, int maxBytes, String accept) throws IOException {
        if (offline) {
            throw new IOException("offline mode (" + offlineReason + "): cannot fetch " + url);
        }
        HttpURLConnection c = null;
        try {
            c = connect(url, conn -> conn.setRequestProperty("Accept", accept));
            int code = c.getResponseCode();
            if (code / 100 != 2) throw statusError(code, c.getResponseMessage(), url);
            try (InputStream in = c.getInputStream()) {
                return in.readNBytes(maxBytes + 1);
            }
        } catch (SocketTimeoutException e) {
            throw new DownloadException(DownloadException.Kind.TIMEOUT, url, "timed out at " + url + " (connect "
                    + seconds(connectTimeout) + ", read " + seconds(readTimeout) + ")", true, e);
        } finally {
            if (c != null) c.disconnect();
        }
    }

    private HttpURLConnection open(URI url) throws IOException {
        Proxy proxy = proxyFor(url);
        HttpURLConnection c = (HttpURLConnection) (proxy == null ? url.toURL().openConnection()
                : url.toURL().openConnection(proxy));
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(toMillis(connectTimeout));
        c.setReadTimeout(toMillis(readTimeout));
        c.setUseCaches(false);
        c.setRequestProperty("User-Agent", userAgent);
        c.setRequestProperty("Accept-Encoding", "identity");
        c.setRequestProperty("Accept", "*/*");
        return c;
    }

    /** The proxy to use according to the Env, null for the JVM default. */
    Proxy proxyFor(URI url) {
        String host = url.getHost() == null ? "" : url.getHost().toLowerCase(Locale.ROOT);
        Optional<String> p = "https".equalsIgnoreCase(url.getScheme())
                ? env.first("HTTPS_PROXY", "https_proxy")
                : env.first("HTTP_PROXY", "http_proxy");
        if (p.isEmpty()) {
            return null;
        }
        if (host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]") || host.equals("::1")
                || noProxy(host)) {
            return Proxy.NO_PROXY;
        }
        String spec = p.get().contains("://") ? p.get() : "http://" + p.get();
        URI pu = URI.create(spec);
        if (pu.getHost() == null) {
            throw new IllegalArgumentException("cannot parse proxy setting: " + p.get());
        }
        return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(pu.getHost(),
                pu.getPort() > 0 ? pu.getPort() : 1080));
    }

    private boolean noProxy(String host) {
        Optional<String> np = env.first("NO_PROXY", "no_proxy");
        if (np.isEmpty()) {
            return false;
        }
        for (String raw : np.get().split(",")) {
            String e = raw.trim().toLowerCase(Locale.ROOT);
            int colon = e.lastIndexOf(':');
            if (colon > 0 && e.indexOf(']') < colon && e.chars().filter(ch -> ch == ':').count() == 1) {
                e = e.substring(0, colon);
            }
            if (e.isEmpty()) {
                continue;
            }
            if (e.equals("*")) {
                return true;
            }
            String d = e.startsWith("*.") ? e.substring(1) : e;
            if (host.equals(d.startsWith(".") ? d.substring(1) : d) || host.endsWith(d.startsWith(".") ? d : "." + d)) {
                return true;
            }
        }
        return false;
    }

    private static DownloadException statusError(int code, String reason, URI url) {
        String r = reason == null || reason.isBlank() ? "" : " " + reason;
        switch (code) {
            case 404:
            case 410:
                return new DownloadException(DownloadException.Kind.NOT_FOUND, url, "not found at " + url + " (HTTP " + code + ")");
            case 401:
            case 403:
                return new DownloadException(DownloadException.Kind.HTTP_STATUS, url, "access denied (HTTP " + code + r + ") at " + url
                        + ("huggingface.co".equalsIgnoreCase(url.getHost()) ? " (on huggingface.co this also means the repository does not exist)" : ""));
            default:
                boolean retriable = code == 408 || code == 429 || code >= 500;
                return new DownloadException(DownloadException.Kind.HTTP_STATUS, url, "HTTP " + code + r + " at " + url,
                        retriable, null);
        }
    }

    /** Bytes of an existing part that may be resumed (0 = start over; the part is deleted then). */
    private long resumableBytes(Path part, URI url, Long expectedSize, String label) throws IOException {
        if (!Files.exists(part)) {
            Files.deleteIfExists(metaPath(part));
            return 0;
        }
        long have = Files.size(part);
        PartMeta meta = readMeta(part);
        boolean sameUrl = meta != null && url.toString().equals(meta.url());
        if (have == 0 || !sameUrl || (expectedSize != null && have > expectedSize)) {
            deletePart(part);
            return 0;
        }
        progress.onMessage("resuming " + label + " at byte " + have + " from " + url);
        return have;
    }

    private static Path metaPath(Path part) {
        return part.resolveSibling(part.getFileName() + ".json");
    }

    private static PartMeta readMeta(Path part) {
        Path p = metaPath(part);
        try {
            return Files.isRegularFile(p) ? JSON.readValue(p.toFile(), PartMeta.class) : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static void writeMeta(Path part, PartMeta meta) throws IOException {
        ModelCache.writeJson(metaPath(part), meta);
    }

    private static void deletePart(Path part) throws IOException {
        Files.deleteIfExists(part);
        Files.deleteIfExists(metaPath(part));
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

    private static boolean isLocal(URI u) {
        return "file".equalsIgnoreCase(u.getScheme()) || WeightSource.CLASSPATH.equalsIgnoreCase(u.getScheme());
    }

    /** Copies a {@code classpath:/path} resource (weights shipped inside the jar) to a temporary file. */
    private static Path extractResource(URI url) throws IOException {
        String res = url.getSchemeSpecificPart();
        try (java.io.InputStream in = Downloader.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new DownloadException(DownloadException.Kind.NOT_FOUND, url, "not found at " + url + " (no such resource in the jar)");
            }
            Path tmp = Files.createTempFile("attnzoo-bundled", ".bin");
            Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            tmp.toFile().deleteOnExit();
            return tmp;
        }
    }

    private static int toMillis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }

    private static void sleep(long ms) throws InterruptedIOException {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

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
