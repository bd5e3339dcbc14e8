package org.attnzoo.zoo.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback HTTP server for tests: serves byte arrays, honours {@code Range: bytes=N-} (and
 * {@code If-Range} against an ETag), and can misbehave on demand - cut the connection after K
 * bytes, delay the headers, stall mid-body, hold the body until released, ignore Range, or answer
 * a fixed status. Every request is logged with the bytes actually sent.
 */
final class TestHttpServer implements AutoCloseable {

    /** One logged request. {@code bytesSent} is filled in when the response ends. */
    static final class Request {
        final String method;
        final String uri;
        final String path;
        final String range;
        final String ifRange;
        volatile String userAgent;
        volatile int status;
        volatile long bytesSent;

        Request(String method, String uri, String path, String range, String ifRange) {
            this.method = method;
            this.uri = uri;
            this.path = path;
            this.range = range;
            this.ifRange = ifRange;
        }

        @Override
        public String toString() {
            return method + " " + uri + " range=" + range + " -> " + status + " (" + bytesSent + " bytes)";
        }
    }

    /** What a path serves and how; all fields may be changed while the server runs. */
    static final class Resource {
        volatile byte[] data;
        volatile String etag;
        volatile int status = 200;
        volatile boolean ignoreRange;
        /** Answer 302 with this Location instead of content. */
        volatile String redirectTo;
        /** Cut the connection after this many body bytes, for the next {@code cutTimes} responses. */
        volatile long cutAfter = -1;
        volatile int cutTimes;
        /** Sleep before sending headers. */
        volatile long headerDelayMs;
        /** Stop sending for {@code stallMs} after this many body bytes. */
        volatile long stallAfter = -1;
        volatile long stallMs;
        /** Send this many body bytes, then wait for {@link #release} before sending the rest. */
        volatile long holdAt = -1;
        final CountDownLatch release = new CountDownLatch(1);

        Resource(byte[] data) {
            this.data = data;
        }
    }

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-http");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Resource> resources = new ConcurrentHashMap<>();
    private final List<Request> log = new ArrayList<>();

    private TestHttpServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    static TestHttpServer start() throws IOException {
        return new TestHttpServer();
    }

    Resource serve(String path, byte[] data) {
        Resource r = new Resource(data);
        resources.put(path, r);
        return r;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port() + path);
    }

    int port() {
        return server.getAddress().getPort();
    }

    List<Request> requests() {
        synchronized (log) {
            return new ArrayList<>(log);
        }
    }

    List<Request> requests(String path) {
        return requests().stream().filter(r -> r.path.equals(path)).toList();
    }

    /** Polls until at least {@code n} requests for {@code path} were received. */
    void awaitRequests(String path, int n, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (requests(path).size() < n) {
            if (System.currentTimeMillis() > end) {
                throw new AssertionError("expected " + n + " requests for " + path + ", got " + requests(path));
            }
            Thread.sleep(20);
        }
    }

    @Override
    public void close() {
        resources.values().forEach(r -> r.release.countDown());
        server.stop(0);
        pool.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        URI reqUri = ex.getRequestURI();
        Request req = new Request(ex.getRequestMethod(), reqUri.toString(), reqUri.getPath(),
                ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("If-Range"));
        req.userAgent = ex.getRequestHeaders().getFirst("User-Agent");
        synchronized (log) {
            log.add(req);
        }
        try {
            Resource r = resources.get(reqUri.getPath());
            if (r == null) {
                req.status = 404;
                ex.sendResponseHeaders(404, -1);
                return;
            }
            if (r.headerDelayMs > 0) {
                Thread.sleep(r.headerDelayMs);
            }
            if (r.redirectTo != null) {
                req.status = 302;
                ex.getResponseHeaders().set("Location", r.redirectTo);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            if (r.status != 200) {
                req.status = r.status;
                ex.sendResponseHeaders(r.status, -1);
                return;
            }
            byte[] d = r.data;
            long start = 0;
            int code = 200;
            if (r.etag != null) {
                ex.getResponseHeaders().set("ETag", r.etag);
            }
            ex.getResponseHeaders().set("Accept-Ranges", "bytes");
            Matcher m = req.range == null ? null : RANGE.matcher(req.range);
            if (m != null && m.matches() && !r.ignoreRange && (req.ifRange == null || req.ifRange.equals(r.etag))) {
                start = Long.parseLong(m.group(1));
                if (start >= d.length) {
                    ex.getResponseHeaders().set("Content-Range", "bytes */" + d.length);
                    req.status = 416;
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                code = 206;
                ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (d.length - 1) + "/" + d.length);
            }
            req.status = code;
            long len = d.length - start;
            ex.sendResponseHeaders(code, len);
            OutputStream out = ex.getResponseBody();
            long cut = -1;
            synchronized (r) {
                if (r.cutTimes > 0 && r.cutAfter >= 0) {
                    r.cutTimes--;
                    cut = r.cutAfter;
                }
            }
            long sent = 0;
            while (sent < len) {
                long limit = len;
                if (cut >= 0) {
                    limit = Math.min(limit, cut);
                }
                if (r.holdAt >= 0 && sent <= r.holdAt) {
                    limit = Math.min(limit, r.holdAt);
                }
                if (r.stallAfter >= 0 && sent <= r.stallAfter) {
                    limit = Math.min(limit, r.stallAfter);
                }
                int n = (int) Math.min(8192, limit - sent);
                if (n > 0) {
                    out.write(d, (int) (start + sent), n);
                    sent += n;
                    req.bytesSent = sent;
                    continue;
                }
                out.flush();
                if (cut >= 0 && sent >= cut) {
                    // abort: fewer bytes than Content-Length, then close the connection
                    ex.close();
                    return;
                }
                if (r.holdAt >= 0 && sent == r.holdAt) {
                    r.release.await(20, TimeUnit.SECONDS);
                }
                if (r.stallAfter >= 0 && sent == r.stallAfter) {
                    Thread.sleep(r.stallMs);
                    r.stallAfter = -1;
                }
                if (r.holdAt >= 0 && sent == r.holdAt) {
                    r.holdAt = -1;
                }
            }
            out.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // client went away (e.g. after its read timeout)
        } finally {
            ex.close();
        }
    }
}
