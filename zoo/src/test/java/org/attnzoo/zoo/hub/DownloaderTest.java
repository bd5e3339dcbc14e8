package org.attnzoo.zoo.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.attnzoo.zoo.hub.Fixtures.bytes;
import static org.attnzoo.zoo.hub.Fixtures.entry;
import static org.attnzoo.zoo.hub.Fixtures.file;
import static org.attnzoo.zoo.hub.Fixtures.filesUnder;
import static org.attnzoo.zoo.hub.Fixtures.registry;
import static org.attnzoo.zoo.hub.Fixtures.sha256;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DownloaderTest {

    private static final String TAG = "tiny_net.test";
    private static final byte[] DATA = bytes(300_000, 42);
    private static final String SHA = sha256(DATA);

    @TempDir
    Path tmp;

    private TestHttpServer server;
    private ModelCache cache;
    private final Fixtures.Recorder rec = new Fixtures.Recorder();

    @BeforeEach
    void setUp() throws Exception {
        server = TestHttpServer.start();
        cache = new ModelCache(tmp.resolve("cache"));
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    private Downloader.Builder dl() {
        return Downloader.builder().env(Env.empty()).progress(rec).retryBackoff(Duration.ZERO)
                .connectTimeout(Duration.ofSeconds(2)).readTimeout(Duration.ofSeconds(5));
    }

    private ModelHub hub(Registry reg, Downloader d) throws Exception {
        return ModelHub.builder().env(Env.empty()).registry(reg).cache(cache).downloader(d).build();
    }

    private Registry oneFile(String sha, Long size, URI... urls) {
        return registry(entry("tiny_net", "test", file("model.safetensors", sha, size, urls)));
    }

    @Test
    void downloadsVerifiesAndStoresContentAddressed() throws Exception {
        server.serve("/w", DATA);
        ModelHub hub = hub(oneFile(SHA, (long) DATA.length, server.uri("/w")), dl().build());

        FetchedModel fm = hub.fetch("tiny_net");

        assertThat(fm.tag()).isEqualTo(TAG);
        CachedFile f = fm.weights();
        assertThat(f.path()).isEqualTo(cache.root().resolve("blobs/sha256/" + SHA));
        assertThat(Files.readAllBytes(f.path())).isEqualTo(DATA);
        assertThat(f.sha256()).isEqualTo(SHA);
        assertThat(f.pinned()).isFalse();
        assertThat(f.fetchedFrom()).isEqualTo(server.uri("/w"));
        assertThat(filesUnder(cache.root())).containsExactly("blobs/sha256/" + SHA, "models/" + TAG + "/index.json");
        assertThat(rec.events).containsExactly("start " + TAG + "/model.safetensors 0/" + DATA.length, "finish true");
        assertThat(rec.lastDone).isEqualTo(DATA.length);

        // second fetch: served from the cache, no request
        FetchedModel again = hub.fetch(TAG);
        assertThat(again.weightsPath()).isEqualTo(f.path());
        assertThat(server.requests("/w")).hasSize(1);
        assertThat(server.requests("/w").get(0).range).isNull();
    }

    @Test
    void resumesAfterCutConnectionWithRangeRequest() throws Exception {
        TestHttpServer.Resource r = server.serve("/w", DATA);
        r.etag = "\"v1\"";
        r.cutAfter = 100_000;
        r.cutTimes = 1;
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().retries(2).build());

        FetchedModel fm = hub.fetch(TAG);

        assertThat(Files.readAllBytes(fm.weightsPath())).isEqualTo(DATA);
        var reqs = server.requests("/w");
        assertThat(reqs).hasSize(2);
        assertThat(reqs.get(0).range).isNull();
        assertThat(reqs.get(0).bytesSent).isEqualTo(100_000);
        assertThat(reqs.get(1).range).isEqualTo("bytes=100000-");
        assertThat(reqs.get(1).ifRange).isEqualTo("\"v1\"");
        assertThat(reqs.get(1).status).isEqualTo(206);
        assertThat(reqs.get(1).bytesSent).isEqualTo(DATA.length - 100_000);
        assertThat(rec.saw("connection closed after 100000 of 300000 bytes at " + server.uri("/w"))).isTrue();
        assertThat(filesUnder(cache.root())).containsExactly("blobs/sha256/" + SHA, "models/" + TAG + "/index.json");
    }

    @Test
    void resumesOnTheNextFetchWhenRetriesAreExhausted() throws Exception {
        TestHttpServer.Resource r = server.serve("/w", DATA);
        r.cutAfter = 120_000;
        r.cutTimes = 1;
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().retries(0).build());

        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOf(DownloadException.class)
                .hasMessage("connection closed after 120000 of 300000 bytes at " + server.uri("/w"));
        assertThat(Files.size(cache.partPath(SHA))).isEqualTo(120_000);

        hub.fetch(TAG);
        var reqs = server.requests("/w");
        assertThat(reqs).hasSize(2);
        assertThat(reqs.get(1).range).isEqualTo("bytes=120000-");
        assertThat(reqs.get(1).bytesSent).isEqualTo(DATA.length - 120_000);
        assertThat(rec.saw("resuming")).isTrue();
        assertThat(Files.exists(cache.partPath(SHA))).isFalse();
    }

    @Test
    void restartsWhenTheServerIgnoresRange() throws Exception {
        TestHttpServer.Resource r = server.serve("/w", DATA);
        r.cutAfter = 50_000;
        r.cutTimes = 1;
        r.ignoreRange = true;
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().retries(1).build());

        FetchedModel fm = hub.fetch(TAG);

        assertThat(Files.readAllBytes(fm.weightsPath())).isEqualTo(DATA);
        var reqs = server.requests("/w");
        assertThat(reqs).hasSize(2);
        assertThat(reqs.get(1).range).isEqualTo("bytes=50000-");
        assertThat(reqs.get(1).status).isEqualTo(200);
        assertThat(reqs.get(1).bytesSent).isEqualTo(DATA.length);
        assertThat(rec.saw("server sent the whole file instead of resuming")).isTrue();
    }

    @Test
    void restartsWhenTheFileChangedSinceThePartialDownload() throws Exception {
        byte[] v2 = bytes(DATA.length, 7);
        TestHttpServer.Resource r = server.serve("/w", DATA);
        r.etag = "\"v1\"";
        r.cutAfter = 50_000;
        r.cutTimes = 1;
        ModelHub hub = hub(oneFile(null, null, server.uri("/w")), dl().retries(0).build());
        assertThatThrownBy(() -> hub.fetch(TAG)).isInstanceOf(DownloadException.class);

        r.data = v2;
        r.etag = "\"v2\""; // If-Range "v1" no longer matches: full 200 response
        FetchedModel fm = hub.fetch(TAG);

        assertThat(Files.readAllBytes(fm.weightsPath())).isEqualTo(v2);
        assertThat(server.requests("/w").get(1).status).isEqualTo(200);
    }

    @Test
    void followsRedirectsAndResumesThroughThem() throws Exception {
        TestHttpServer.Resource target = server.serve("/cdn/blob", DATA);
        target.cutAfter = 70_000;
        target.cutTimes = 1;
        server.serve("/resolve/main/model.safetensors", null).redirectTo = "/cdn/blob"; // relative, like the HF hub
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/resolve/main/model.safetensors")), dl().retries(1).build());

        CachedFile f = hub.fetch(TAG).weights();

        assertThat(Files.readAllBytes(f.path())).isEqualTo(DATA);
        assertThat(server.requests("/resolve/main/model.safetensors")).extracting(r -> r.range)
                .containsExactly(null, "bytes=70000-");
        assertThat(server.requests("/cdn/blob")).extracting(r -> r.range).containsExactly(null, "bytes=70000-");
        assertThat(server.requests("/cdn/blob").get(1).bytesSent).isEqualTo(DATA.length - 70_000);
    }

    @Test
    void aCompletePartFileIsFinishedWithoutDownloadingAgain() throws Exception {
        server.serve("/w", DATA);
        Path part = cache.partPath(SHA);
        Files.createDirectories(part.getParent());
        Files.write(part, DATA);
        Files.writeString(part.resolveSibling(part.getFileName() + ".json"), "{\"url\": \"" + server.uri("/w") + "\"}");
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().build());

        assertThat(Files.readAllBytes(hub.fetch(TAG).weightsPath())).isEqualTo(DATA);
        assertThat(server.requests("/w")).singleElement().satisfies(r -> {
            assertThat(r.range).isEqualTo("bytes=" + DATA.length + "-");
            assertThat(r.status).isEqualTo(416);
        });
        assertThat(part).doesNotExist();
    }

    @Test
    void checksumMismatchThrowsWithBothHashesAndLeavesNothing() throws Exception {
        server.serve("/w", DATA);
        String wrong = sha256(new byte[] {1, 2, 3});
        ModelHub hub = hub(oneFile(wrong, null, server.uri("/w")), dl().build());

        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOfSatisfying(ChecksumMismatchException.class, e -> {
                    assertThat(e.expected()).isEqualTo(wrong);
                    assertThat(e.actual()).isEqualTo(SHA);
                    assertThat(e.pinned()).isFalse();
                })
                .hasMessageContaining("expected " + wrong)
                .hasMessageContaining("got " + SHA)
                .hasMessageContaining(server.uri("/w").toString())
                .hasMessageNotContaining("\n");
        assertThat(filesUnder(cache.root())).isEmpty();
        assertThat(cache.ls()).isEmpty();
    }

    @Test
    void sizeMismatchIsAnError() throws Exception {
        server.serve("/w", DATA);
        ModelHub hub = hub(oneFile(null, 123L, server.uri("/w")), dl().build());
        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOfSatisfying(DownloadException.class,
                        e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.SIZE_MISMATCH))
                .hasMessageContaining("expected 123 bytes, got 300000");
        assertThat(filesUnder(cache.root())).isEmpty();
    }

    @Test
    void notFoundIsOneClearLine() throws Exception {
        ModelHub hub = hub(oneFile(null, null, server.uri("/missing")), dl().build());
        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOfSatisfying(DownloadException.class,
                        e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.NOT_FOUND))
                .hasMessage("not found at " + server.uri("/missing") + " (HTTP 404)");
        assertThat(server.requests("/missing")).hasSize(1); // 404 is not retried
    }

    @Test
    void otherStatusesAreReportedAndServerErrorsRetried() throws Exception {
        server.serve("/w", DATA).status = 503;
        ModelHub hub = hub(oneFile(null, null, server.uri("/w")), dl().retries(2).build());
        assertThatThrownBy(() -> hub.fetch(TAG))
                .hasMessageStartingWith("HTTP 503")
                .hasMessageEndingWith("at " + server.uri("/w"));
        assertThat(server.requests("/w")).hasSize(3);
    }

    @Test
    void timeoutWaitingForHeaders() throws Exception {
        server.serve("/slow", DATA).headerDelayMs = 4000;
        ModelHub hub = hub(oneFile(null, null, server.uri("/slow")),
                dl().readTimeout(Duration.ofSeconds(1)).retries(0).build());
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOfSatisfying(DownloadException.class,
                        e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.TIMEOUT))
                .hasMessage("timed out after 1s at " + server.uri("/slow"));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(3500));
    }

    @Test
    void timeoutWhenTheBodyStalls() throws Exception {
        TestHttpServer.Resource r = server.serve("/stall", DATA);
        r.stallAfter = 64_000;
        r.stallMs = 4000;
        ModelHub hub = hub(oneFile(null, null, server.uri("/stall")),
                dl().readTimeout(Duration.ofMillis(800)).retries(0).build());
        assertThatThrownBy(() -> hub.fetch(TAG))
                .hasMessageStartingWith("timed out after 0.8s at " + server.uri("/stall"))
                .hasMessageContaining("after 64000 of 300000 bytes")
                .hasMessageNotContaining("\n");
    }

    @Test
    void triesTheNextSourceWhenTheFirstFails() throws Exception {
        server.serve("/second", DATA);
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/first"), server.uri("/second")), dl().build());
        CachedFile f = hub.fetch(TAG).weights();
        assertThat(f.fetchedFrom()).isEqualTo(server.uri("/second"));
        assertThat(f.source()).isEqualTo(server.uri("/second"));
        assertThat(rec.saw("not found at " + server.uri("/first") + " (HTTP 404); trying the next source")).isTrue();
    }

    @Test
    void allSourcesFailingGivesOneLineListingEach() throws Exception {
        ModelHub hub = hub(oneFile(null, null, server.uri("/a"), server.uri("/b")), dl().build());
        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOfSatisfying(DownloadException.class, e -> {
                    assertThat(e.kind()).isEqualTo(DownloadException.Kind.ALL_SOURCES_FAILED);
                    assertThat(e.getSuppressed()).hasSize(2);
                })
                .hasMessage("could not fetch " + TAG + "/model.safetensors from any of 2 sources: [1] not found at "
                        + server.uri("/a") + " (HTTP 404); [2] not found at " + server.uri("/b") + " (HTTP 404)");
    }

    @Test
    void fallbackSourceWithAnotherFormatIsRecordedAsSuch() throws Exception {
        byte[] pth = bytes(5000, 3);
        server.serve("/convit_tiny.pth", pth);
        WeightFile wf = new WeightFile("model.safetensors", java.util.List.of(
                WeightSource.of(server.uri("/model.safetensors").toString()),
                new WeightSource(server.uri("/convit_tiny.pth"), "convit_tiny.pth", WeightFormat.PTH, null, null, "model")),
                SHA, null, WeightFormat.SAFETENSORS, null);
        ModelHub hub = hub(registry(entry("tiny_net", "test", wf)), dl().build());

        CachedFile f = hub.fetch(TAG).weights();

        assertThat(f.name()).isEqualTo("model.safetensors");
        assertThat(f.sourceName()).isEqualTo("convit_tiny.pth");
        assertThat(f.format()).isEqualTo(WeightFormat.PTH);
        assertThat(f.wrappingKey()).isEqualTo("model");
        assertThat(f.pinned()).isTrue(); // the file-level sha256 does not apply to the .pth bytes
        assertThat(Files.readAllBytes(f.path())).isEqualTo(pth);
    }

    @Test
    void unknownHashIsPinnedAndEnforcedLater() throws Exception {
        TestHttpServer.Resource r = server.serve("/w", DATA);
        ModelHub hub = hub(oneFile(null, null, server.uri("/w")), dl().build());

        CachedFile f = hub.fetch(TAG).weights();
        assertThat(f.pinned()).isTrue();
        assertThat(cache.pins()).containsOnlyKeys(server.uri("/w").toString());
        Pin pin = cache.pin(server.uri("/w")).orElseThrow();
        assertThat(pin.sha256()).isEqualTo(SHA);
        assertThat(pin.size()).isEqualTo(DATA.length);
        assertThat(pin.tag()).isEqualTo(TAG);
        assertThat(Files.readString(cache.root().resolve("pins.json"))).contains(SHA);

        // upstream silently changes: after rm, the re-download must fail against the pin
        cache.rm(TAG);
        r.data = bytes(DATA.length, 99);
        assertThatThrownBy(() -> hub.fetch(TAG))
                .isInstanceOfSatisfying(ChecksumMismatchException.class, e -> {
                    assertThat(e.pinned()).isTrue();
                    assertThat(e.expected()).isEqualTo(SHA);
                })
                .hasMessageContaining("pinned at first download")
                .hasMessageContaining("ModelCache.unpin");
        assertThat(filesUnder(cache.root())).containsExactly("pins.json");

        // after unpinning, the new content is accepted and pinned
        assertThat(cache.unpin(server.uri("/w"))).isTrue();
        CachedFile g = hub.fetch(TAG).weights();
        assertThat(g.sha256()).isEqualTo(sha256(r.data));
        assertThat(cache.pin(server.uri("/w")).orElseThrow().sha256()).isEqualTo(g.sha256());
    }

    @Test
    void pinnedFileCorruptedInCacheIsDetectedAndRefetched() throws Exception {
        server.serve("/w", DATA);
        ModelHub hub = hub(oneFile(null, null, server.uri("/w")), dl().verifyMode(VerifyMode.FULL).build());
        Path blob = hub.fetch(TAG).weightsPath();

        corrupt(blob);
        VerifyReport report = cache.verify();
        assertThat(report.ok()).isFalse();
        assertThat(report.problems()).singleElement().satisfies(p -> {
            assertThat(p.kind()).isEqualTo(VerifyReport.Kind.CORRUPT);
            assertThat(p.expected()).isEqualTo(SHA);
            assertThat(p.references()).containsExactly(TAG + "/model.safetensors");
            assertThat(p.removed()).isFalse();
        });

        FetchedModel again = hub.fetch(TAG);
        assertThat(Files.readAllBytes(again.weightsPath())).isEqualTo(DATA);
        assertThat(server.requests("/w")).hasSize(2);
        assertThat(rec.saw("is corrupt (expected sha256 " + SHA)).isTrue();
        assertThat(cache.verify().ok()).isTrue();
    }

    @Test
    void quickModeNoticesAnOverwrittenBlob() throws Exception {
        server.serve("/w", DATA);
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().build()); // QUICK is the default
        Path blob = hub.fetch(TAG).weightsPath();

        corrupt(blob);
        Files.setLastModifiedTime(blob, FileTime.from(Instant.now().plusSeconds(5)));

        assertThat(Files.readAllBytes(hub.fetch(TAG).weightsPath())).isEqualTo(DATA);
        assertThat(server.requests("/w")).hasSize(2);
    }

    @Test
    void missingBlobIsRefetched() throws Exception {
        server.serve("/w", DATA);
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().build());
        Path blob = hub.fetch(TAG).weightsPath();
        Files.delete(blob);
        assertThat(cache.verify().problems()).singleElement()
                .satisfies(p -> assertThat(p.kind()).isEqualTo(VerifyReport.Kind.MISSING));
        hub.fetch(TAG);
        assertThat(Files.readAllBytes(blob)).isEqualTo(DATA);
    }

    @Test
    void offlineModeNeverConnectsAndListsWhatIsMissing() throws Exception {
        server.serve("/w", DATA);
        Registry reg = oneFile(SHA, (long) DATA.length, server.uri("/w"), server.uri("/alt"));
        Downloader d = Downloader.builder().env(Env.of(Map.of(Env.OFFLINE_VAR, "1"))).build();
        ModelHub hub = hub(reg, d);

        assertThat(hub.missing(TAG)).singleElement().satisfies(m -> assertThat(m.fileName()).isEqualTo("model.safetensors"));
        assertThatThrownBy(() -> hub.fetch("tiny_net"))
                .isInstanceOfSatisfying(OfflineException.class, e -> {
                    assertThat(e.missing()).singleElement().satisfies(m -> {
                        assertThat(m.tag()).isEqualTo(TAG);
                        assertThat(m.urls()).containsExactly(server.uri("/w").toString(), server.uri("/alt").toString());
                    });
                })
                .hasMessageContaining("offline mode (ATTNZOO_OFFLINE=1)")
                .hasMessageContaining("1 file of " + TAG + " is not in the cache at " + cache.root())
                .hasMessageContaining("model.safetensors (safetensors, 293.0 KiB, sha256 " + SHA + ")")
                .hasMessageContaining(server.uri("/w").toString())
                .hasMessageContaining("unset ATTNZOO_OFFLINE")
                .hasMessageContaining("ATTNZOO_MIRROR=file:")
                .hasMessageContaining("importFile");
        assertThat(server.requests()).isEmpty();

        // once cached (online), offline works without any request
        hub(reg, dl().build()).fetch(TAG);
        assertThat(server.requests()).hasSize(1);
        assertThat(hub.fetch(TAG).weightsPath()).exists();
        assertThat(hub.missing(TAG)).isEmpty();
        assertThat(server.requests()).hasSize(1);
    }

    @Test
    void offlineFlagOnTheApiWinsOverTheEnvironment() throws Exception {
        ModelHub hub = hub(oneFile(null, null, server.uri("/w")), dl().offline(true).build());
        assertThatThrownBy(() -> hub.fetch(TAG)).isInstanceOf(OfflineException.class).hasMessageContaining("offline(true)");
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void fileMirrorReplacesUpstreamAndWorksOffline() throws Exception {
        Path mirror = tmp.resolve("mirror");
        Files.createDirectories(mirror.resolve(TAG));
        Files.write(mirror.resolve(TAG).resolve("model.safetensors"), DATA);
        server.serve("/upstream/model.safetensors", DATA);
        Registry reg = oneFile(SHA, null, server.uri("/upstream/model.safetensors"));

        for (String base : new String[] {mirror.toUri().toString(), mirror.toString()}) {
            ModelCache c = new ModelCache(tmp.resolve("c-" + base.hashCode()));
            Env env = Env.of(Map.of(Env.MIRROR_VAR, base, Env.OFFLINE_VAR, "true"));
            ModelHub hub = ModelHub.builder().env(env).registry(reg).cache(c).build();
            assertThat(hub.downloader().candidateUrls(TAG, reg.resolve(TAG).weights().files().get(0)))
                    .containsExactly(mirror.resolve(TAG).resolve("model.safetensors").toUri());
            CachedFile f = hub.fetch(TAG).weights();
            assertThat(f.fetchedFrom()).isEqualTo(mirror.resolve(TAG).resolve("model.safetensors").toUri());
            assertThat(f.source()).isEqualTo(server.uri("/upstream/model.safetensors"));
            assertThat(Files.readAllBytes(f.path())).isEqualTo(DATA);
        }
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void httpMirrorReplacesUpstreamHost() throws Exception {
        server.serve("/mirror/" + TAG + "/model.safetensors", DATA);
        server.serve("/upstream/model.safetensors", DATA);
        Registry reg = oneFile(SHA, null, server.uri("/upstream/model.safetensors"));
        ModelHub hub = ModelHub.builder().env(Env.of(Map.of(Env.MIRROR_VAR, server.uri("/mirror/").toString())))
                .registry(reg).cache(cache).build();

        CachedFile f = hub.fetch(TAG).weights();

        assertThat(f.fetchedFrom()).isEqualTo(server.uri("/mirror/" + TAG + "/model.safetensors"));
        assertThat(server.requests("/upstream/model.safetensors")).isEmpty();
        assertThat(server.requests("/mirror/" + TAG + "/model.safetensors")).hasSize(1);
    }

    @Test
    void mirrorStillEnforcesHashes() throws Exception {
        server.serve("/mirror/" + TAG + "/model.safetensors", bytes(1000, 5));
        Registry reg = oneFile(SHA, null, server.uri("/upstream/model.safetensors"));
        ModelHub hub = hub(reg, dl().mirror(server.uri("/mirror").toString()).build());
        assertThatThrownBy(() -> hub.fetch(TAG)).isInstanceOf(ChecksumMismatchException.class);
        assertThat(filesUnder(cache.root())).isEmpty();
    }

    @Test
    void mirrorUrlMapping() {
        assertThat(Downloader.mirrorUrl("https://m.example/zoo/", "convit_tiny.fb_in1k", "model.safetensors"))
                .isEqualTo(URI.create("https://m.example/zoo/convit_tiny.fb_in1k/model.safetensors"));
        assertThat(Downloader.mirrorUrl("file:///srv/zoo", "a.b", "c.pth"))
                .isEqualTo(Path.of("/srv/zoo/a.b/c.pth").toUri());
        assertThatThrownBy(() -> Downloader.mirrorUrl("s3://bucket", "a.b", "c"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fileUrlSourcesWork() throws Exception {
        Path local = tmp.resolve("w.bin");
        Files.write(local, DATA);
        ModelHub hub = hub(oneFile(SHA, null, local.toUri()), dl().build());
        assertThat(Files.readAllBytes(hub.fetch(TAG).weightsPath())).isEqualTo(DATA);
        ModelHub missing = hub(oneFile(SHA, null, tmp.resolve("nope.bin").toUri()), dl().build());
        cache.rm(TAG);
        assertThatThrownBy(() -> missing.fetch(TAG)).hasMessage("not found at " + tmp.resolve("nope.bin").toUri());
    }

    @Test
    void twoThreadsFetchingTheSameFileDownloadOnce() throws Exception {
        TestHttpServer.Resource r = server.serve("/w", DATA);
        r.holdAt = 10_000;
        ModelHub hub = hub(oneFile(null, null, server.uri("/w")), dl().build());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Callable<Path> task = () -> hub.fetch(TAG).weightsPath();
            Future<Path> a = pool.submit(task);
            server.awaitRequests("/w", 1, 10_000);
            Future<Path> b = pool.submit(task);
            long end = System.currentTimeMillis() + 10_000;
            while (!rec.saw("waiting for another thread") && System.currentTimeMillis() < end) {
                Thread.sleep(10);
            }
            assertThat(rec.saw("waiting for another thread")).isTrue();
            r.release.countDown();
            assertThat(a.get(20, TimeUnit.SECONDS)).isEqualTo(b.get(20, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertThat(server.requests("/w")).hasSize(1);
    }

    @Test
    void importedFileIsCheckedAndIndexed() throws Exception {
        Path local = tmp.resolve("model.safetensors");
        Files.write(local, DATA);
        ModelHub hub = hub(oneFile(SHA, null, server.uri("/w")), dl().offline(true).build());
        CachedFile f = hub.importFile(TAG, "model.safetensors", local);
        assertThat(f.sha256()).isEqualTo(SHA);
        assertThat(hub.fetch(TAG).weightsPath()).isEqualTo(cache.blobPath(SHA));

        Files.write(local, bytes(10, 1));
        assertThatThrownBy(() -> hub.importFile(TAG, "model.safetensors", local))
                .isInstanceOf(ChecksumMismatchException.class);
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void envProxyIsUsedForRemoteHostsButNotLoopback() throws Exception {
        server.serve("/w.bin", DATA);
        Env env = Env.of(Map.of("HTTP_PROXY", "127.0.0.1:" + server.port(), "NO_PROXY", "internal.example,.corp"));
        Downloader d = dl().env(env).build();
        assertThat(d.proxyFor(URI.create("http://localhost/x"))).isEqualTo(java.net.Proxy.NO_PROXY);
        assertThat(d.proxyFor(URI.create("http://a.corp/x"))).isEqualTo(java.net.Proxy.NO_PROXY);
        assertThat(d.proxyFor(URI.create("http://internal.example/x"))).isEqualTo(java.net.Proxy.NO_PROXY);
        assertThat(d.proxyFor(URI.create("https://huggingface.co/x"))).isNull(); // no HTTPS_PROXY set

        // a remote URL goes through the proxy (our server answers the absolute-form request)
        ModelHub hub = hub(oneFile(SHA, null, URI.create("http://models.invalid/w.bin")), d);
        hub.fetch(TAG);
        assertThat(server.requests()).singleElement()
                .satisfies(r -> assertThat(r.uri).isEqualTo("http://models.invalid/w.bin"));
    }

    private static void corrupt(Path blob) throws Exception {
        byte[] b = Files.readAllBytes(blob);
        b[1234] ^= 0x55;
        Files.write(blob, b);
    }
}
