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
 * The transport under {@link Downloader}: one HTTP client for weights and documents (the proxy
 * settings of the environment, connect and read timeouts, the user agent, redirects followed up to
 * {@value #MAX_REDIRECTS} hops and never from https to http), resumable part files with their
 * validators, retries with exponential back-off, local {@code file:} / {@code classpath:} copies,
 * and the errors that name the URL. What to fetch, from which source, and what the cache keeps is
 * the Downloader's job.
 */
final class HttpTransfer {
    static final int MAX_REDIRECTS = 10;
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern CONTENT_RANGE_UNSAT = Pattern.compile("bytes\\s+\\*/(\\d+)");

    private final Env env;
    private final boolean offline;
    private final String offlineReason;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final int retries;
    private final Duration retryBackoff;
    private final ProgressListener progress;
    private final String userAgent;

    HttpTransfer(Env env, boolean offline, String offlineReason, Duration connectTimeout, Duration readTimeout, int retries,
                 Duration retryBackoff, ProgressListener progress, String userAgent) {
        this.env = env;
        this.offline = offline;
        this.offlineReason = offlineReason;
        this.connectTimeout = connectTimeout;
        this.readTimeout = readTimeout;
        this.retries = retries;
        this.retryBackoff = retryBackoff;
        this.progress = progress;
        this.userAgent = userAgent;
    }

    record Transfer(String sha256, long size) {
    }

    /** Resume validators of a part file. */
    record PartMeta(@JsonProperty("url") String url, @JsonProperty("etag") String etag,
                    @JsonProperty("last_modified") String lastModified) {
    }

    Transfer transferWithRetries(URI url, Path part, WeightSource src, String label) throws IOException {
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

    Transfer copyLocal(URI url, Path part, WeightSource src, String label) throws IOException {
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

    Transfer transferHttp(URI url, Path part, WeightSource src, String label) throws IOException {
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
                    + Downloader.seconds(connecting ? connectTimeout : readTimeout) + " at " + url + (connecting ? " (connecting)" : ""),
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

    static void writeFully(FileChannel out, ByteBuffer bb, Path part, URI url) throws DownloadException {
        try {
            while (bb.hasRemaining()) {
                out.write(bb);
            }
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.IO, url, "cannot write " + part + " while downloading "
                    + url + ": " + e.getMessage(), false, e);
        }
    }

    int readBody(InputStream in, byte[] buf, URI url, long done, long total) throws IOException {
        try {
            return in.read(buf);
        } catch (SocketTimeoutException e) {
            throw new DownloadException(DownloadException.Kind.TIMEOUT, url, "timed out after " + Downloader.seconds(readTimeout)
                    + " at " + url + " (after " + done + (total >= 0 ? " of " + total : "") + " bytes)", true, e);
        }
    }

    /**
     * Opens {@code url} with this downloader's proxy, timeouts and user agent, following up to
     * {@value #MAX_REDIRECTS} redirects (never from https to http); {@code configure} sets request
     * headers on each hop. Returns the connection of the final response (its code already read).
     */
    HttpURLConnection connect(URI url, java.util.function.Consumer<HttpURLConnection> configure) throws IOException {
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
    byte[] fetchDocument(URI url, int maxBytes, String accept) throws IOException {
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
                    + Downloader.seconds(connectTimeout) + ", read " + Downloader.seconds(readTimeout) + ")", true, e);
        } finally {
            if (c != null) c.disconnect();
        }
    }

    HttpURLConnection open(URI url) throws IOException {
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

    boolean noProxy(String host) {
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

    static DownloadException statusError(int code, String reason, URI url) {
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
    long resumableBytes(Path part, URI url, Long expectedSize, String label) throws IOException {
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

    static Path metaPath(Path part) {
        return part.resolveSibling(part.getFileName() + ".json");
    }

    static PartMeta readMeta(Path part) {
        Path p = metaPath(part);
        try {
            return Files.isRegularFile(p) ? JSON.readValue(p.toFile(), PartMeta.class) : null;
        } catch (IOException e) {
            return null;
        }
    }

    static void writeMeta(Path part, PartMeta meta) throws IOException {
        ModelCache.writeJson(metaPath(part), meta);
    }

    static void deletePart(Path part) throws IOException {
        Files.deleteIfExists(part);
        Files.deleteIfExists(metaPath(part));
    }

    static boolean isLocal(URI u) {
        return "file".equalsIgnoreCase(u.getScheme()) || WeightSource.CLASSPATH.equalsIgnoreCase(u.getScheme());
    }

    /** Copies a {@code classpath:/path} resource (weights shipped inside the jar) to a temporary file. */
    static Path extractResource(URI url) throws IOException {
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

    static int toMillis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }

    static void sleep(long ms) throws InterruptedIOException {
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
}
