package org.attnzoo.zoo.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.attnzoo.zoo.hub.Fixtures.bytes;
import static org.attnzoo.zoo.hub.Fixtures.entry;
import static org.attnzoo.zoo.hub.Fixtures.file;
import static org.attnzoo.zoo.hub.Fixtures.filesUnder;
import static org.attnzoo.zoo.hub.Fixtures.registry;
import static org.attnzoo.zoo.hub.Fixtures.sha256;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCacheTest {

    private static final byte[] A = bytes(20_000, 1);
    private static final byte[] B = bytes(30_000, 2);

    @TempDir
    Path tmp;

    private ModelCache cache;
    private ModelHub hub;

    @BeforeEach
    void setUp() throws Exception {
        Files.write(tmp.resolve("a.bin"), A);
        Files.write(tmp.resolve("b.bin"), B);
        cache = new ModelCache(tmp.resolve("cache"));
        Registry reg = registry(
                entry("net_a", "x", file("model.safetensors", sha256(A), (long) A.length, tmp.resolve("a.bin").toUri())),
                entry("net_b", "x", file("model.safetensors", null, null, tmp.resolve("b.bin").toUri())),
                entry("net_c", "x", file("model.safetensors", sha256(A), null, tmp.resolve("a.bin").toUri())));
        hub = ModelHub.builder().env(Env.empty()).registry(reg).cache(cache)
                .downloader(Downloader.builder().env(Env.empty()).build()).build();
    }

    @Test
    void rootFromEnvironment() {
        assertThat(ModelCache.defaultRoot(Env.of(Map.of(Env.HOME_VAR, "/data/zoo")))).isEqualTo(Path.of("/data/zoo"));
        assertThat(ModelCache.defaultRoot(Env.of(Map.of("HOME", "/home/u")))).isEqualTo(Path.of("/home/u/.cache/attnzoo"));
        assertThat(ModelCache.fromEnv(Env.of(Map.of(Env.HOME_VAR, tmp.toString()))).root()).isEqualTo(tmp);
    }

    @Test
    void layoutAndListing() throws Exception {
        hub.fetch("net_a");
        hub.fetch("net_b");
        assertThat(filesUnder(cache.root())).containsExactlyInAnyOrder(
                "blobs/sha256/" + sha256(A), "blobs/sha256/" + sha256(B),
                "models/net_a.x/index.json", "models/net_b.x/index.json", "pins.json");
        List<CachedModel> ls = cache.ls();
        assertThat(ls).extracting(CachedModel::tag).containsExactly("net_a.x", "net_b.x");
        assertThat(ls.get(0).sizeBytes()).isEqualTo(A.length);
        CachedFile f = ls.get(1).files().get(0);
        assertThat(f.name()).isEqualTo("model.safetensors");
        assertThat(f.sha256()).isEqualTo(sha256(B));
        assertThat(f.size()).isEqualTo(B.length);
        assertThat(f.pinned()).isTrue();
        assertThat(f.format()).isEqualTo(WeightFormat.SAFETENSORS);
        assertThat(f.fetchedAt()).isNotNull();
        assertThat(cache.lookup("net_b.x", "model.safetensors")).contains(f);
        assertThat(cache.lookup("net_b.x", "other")).isEmpty();
        String index = Files.readString(cache.root().resolve("models/net_b.x/index.json"));
        assertThat(index).contains("\"sha256\" : \"" + sha256(B) + "\"").contains("\"source\" : \"file:");
    }

    @Test
    void rmRemovesTagButKeepsSharedBlobsAndPins() throws Exception {
        hub.fetch("net_a");
        hub.fetch("net_c"); // same bytes as net_a: one blob
        hub.fetch("net_b");
        assertThat(filesUnder(cache.root().resolve("blobs"))).hasSize(2);

        RmReport r1 = cache.rm("net_a.x");
        assertThat(r1.removedTags()).containsExactly("net_a.x");
        assertThat(r1.blobsRemoved()).isZero(); // still used by net_c
        assertThat(cache.blobPath(sha256(A))).exists();

        RmReport r2 = cache.rm("net_c"); // a bare model name removes all its tags
        assertThat(r2.removedTags()).containsExactly("net_c.x");
        assertThat(r2.blobsRemoved()).isEqualTo(1);
        assertThat(r2.bytesFreed()).isGreaterThanOrEqualTo(A.length);
        assertThat(cache.blobPath(sha256(A))).doesNotExist();

        assertThat(cache.rm("net_*").removedTags()).containsExactly("net_b.x");
        assertThat(cache.ls()).isEmpty();
        assertThat(cache.pins()).hasSize(1); // pins survive rm
        assertThat(cache.rm("nothing.here").removedTags()).isEmpty();
    }

    @Test
    void gcRemovesUnreferencedBlobsAndLeftovers() throws Exception {
        hub.fetch("net_a");
        Path orphan = cache.blobPath(sha256(B));
        Files.write(orphan, B);
        Path stalePart = cache.partPath("url-0123456789abcdef0123456789abcdef");
        Files.createDirectories(stalePart.getParent());
        Files.write(stalePart, new byte[100]);
        Files.writeString(stalePart.resolveSibling(stalePart.getFileName() + ".json"), "{}");
        Path busyPart = cache.partPath(sha256(B).replace('0', '1').replace('2', '3'));
        Files.write(busyPart, new byte[10]);
        Path tmpIndex = cache.root().resolve("models/net_a.x/index.json.123-456.tmp");
        Files.writeString(tmpIndex, "{");

        GcReport gc;
        String busyKey = busyPart.getFileName().toString().replace(".part", "");
        try (CacheLock held = cache.lockDownload(busyKey, Duration.ofSeconds(1), "test download", m -> { })) {
            gc = cache.gc();
        }
        assertThat(gc.blobsRemoved()).isEqualTo(1);
        assertThat(gc.tempRemoved()).isEqualTo(3);
        assertThat(gc.bytesFreed()).isGreaterThanOrEqualTo(B.length + 100);
        assertThat(orphan).doesNotExist();
        assertThat(stalePart).doesNotExist();
        assertThat(busyPart).exists(); // its download is in progress
        assertThat(tmpIndex).doesNotExist();
        assertThat(cache.blobPath(sha256(A))).exists();
        assertThat(hub.fetch("net_a").weightsPath()).exists();

        assertThat(cache.gc().tempRemoved()).isEqualTo(1); // the lock is gone now
    }

    @Test
    void verifyReportsAndOptionallyRemovesCorruptBlobs() throws Exception {
        Path a = hub.fetch("net_a").weightsPath();
        Path b = hub.fetch("net_b").weightsPath();
        assertThat(cache.verify()).satisfies(r -> {
            assertThat(r.ok()).isTrue();
            assertThat(r.blobsChecked()).isEqualTo(2);
            assertThat(r.bytesChecked()).isEqualTo(A.length + B.length);
        });
        Files.write(b, bytes(B.length, 77));
        Files.delete(a);

        VerifyReport r = cache.verify(true);
        assertThat(r.problems()).hasSize(2);
        assertThat(r.problems()).anySatisfy(p -> {
            assertThat(p.kind()).isEqualTo(VerifyReport.Kind.CORRUPT);
            assertThat(p.references()).containsExactly("net_b.x/model.safetensors");
            assertThat(p.removed()).isTrue();
            assertThat(p.toString()).contains("CORRUPT").contains("expected " + sha256(B));
        });
        assertThat(r.problems()).anySatisfy(p -> {
            assertThat(p.kind()).isEqualTo(VerifyReport.Kind.MISSING);
            assertThat(p.references()).containsExactly("net_a.x/model.safetensors");
        });
        assertThat(b).doesNotExist();

        hub.fetch("net_a");
        hub.fetch("net_b");
        assertThat(cache.verify().ok()).isTrue();
    }

    @Test
    void convertedSlots() throws Exception {
        ConvertedKey k = new ConvertedKey("net_a.x", "0.1.0", 17, "fp32");
        assertThat(cache.convertedPath(k))
                .isEqualTo(cache.root().resolve("converted/net_a.x/0.1.0/opset17-fp32/model.onnx"));
        assertThat(cache.findConverted(k)).isEmpty();

        Path p = cache.putConverted(k, dst -> {
            Files.writeString(dst, "onnx-v1");
            Files.writeString(dst.resolveSibling("model.onnx.data"), "ext");
        });
        assertThat(p).isEqualTo(cache.convertedPath(k));
        assertThat(Files.readString(p)).isEqualTo("onnx-v1");
        assertThat(p.resolveSibling("model.onnx.data")).exists();
        assertThat(cache.findConverted(k)).contains(p);

        // replacing is atomic and drops the old directory's siblings
        cache.putConverted(k, dst -> Files.writeString(dst, "onnx-v2"));
        assertThat(Files.readString(p)).isEqualTo("onnx-v2");
        assertThat(p.resolveSibling("model.onnx.data")).doesNotExist();

        // a failing writer leaves the previous model and no temp directories
        assertThatThrownBy(() -> cache.putConverted(k, dst -> {
            Files.writeString(dst, "half");
            throw new IOException("converter crashed");
        })).hasMessage("converter crashed");
        assertThat(Files.readString(p)).isEqualTo("onnx-v2");
        assertThat(filesUnder(cache.root().resolve("converted"))).containsExactly("net_a.x/0.1.0/opset17-fp32/model.onnx");
        assertThatThrownBy(() -> cache.putConverted(new ConvertedKey("net_a.x", "0.1.0", 18, "fp16"), dst -> { }))
                .hasMessageContaining("converter wrote nothing");

        Path src = tmp.resolve("x.onnx");
        Files.writeString(src, "copied");
        ConvertedKey k16 = new ConvertedKey("net_a.x", "0.1.0", 17, "fp16");
        assertThat(Files.readString(cache.putConverted(k16, src))).isEqualTo("copied");

        List<CachedModel> ls = cache.ls();
        assertThat(ls).singleElement().satisfies(m -> {
            assertThat(m.tag()).isEqualTo("net_a.x");
            assertThat(m.files()).isEmpty();
            assertThat(m.converted()).extracting(ConvertedModel::key).containsExactly(k16, k);
        });
        assertThat(cache.rm("net_a.x").removedTags()).containsExactly("net_a.x");
        assertThat(cache.findConverted(k)).isEmpty();
    }

    @Test
    void convertedOrCreateConvertsOnceUnderConcurrency() throws Exception {
        ConvertedKey k = new ConvertedKey("net_a.x", "0.1.0", 17, "fp32");
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch inside = new CountDownLatch(1);
        ModelCache.ConvertedWriter slow = dst -> {
            runs.incrementAndGet();
            inside.countDown();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.writeString(dst, "onnx");
        };
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Path> a = pool.submit(() -> cache.convertedOrCreate(k, slow));
            inside.await(5, TimeUnit.SECONDS);
            Future<Path> b = pool.submit(() -> cache.convertedOrCreate(k, slow));
            assertThat(a.get(10, TimeUnit.SECONDS)).isEqualTo(b.get(10, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        assertThat(runs).hasValue(1);
    }

    @Test
    void gcRemovesAbandonedConversionTempDirs() throws Exception {
        ConvertedKey k = new ConvertedKey("net_a.x", "0.1.0", 17, "fp32");
        cache.putConverted(k, dst -> Files.writeString(dst, "onnx"));
        Path stale = cache.root().resolve("converted/net_a.x/0.1.0/.tmp-conv0123456789abcdef01234567-1-2");
        Files.createDirectories(stale);
        Files.writeString(stale.resolve("model.onnx"), "partial");
        assertThat(cache.gc().tempRemoved()).isEqualTo(1);
        assertThat(stale).doesNotExist();
        assertThat(cache.findConverted(k)).isPresent();
    }

    @Test
    void convertedKeysMustBePathSafe() {
        assertThatThrownBy(() -> new ConvertedKey("../evil", "1", 17, "fp32")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConvertedKey("a.b", "1/2", 17, "fp32")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConvertedKey("a.b", "1", 0, "fp32")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConvertedKey("a.b", "1", 17, "..")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void exportedMirrorServesAnOfflineMachine() throws Exception {
        Path mirror = tmp.resolve("mirror");
        assertThat(hub.exportMirror("net_b", mirror)).containsExactly(mirror.resolve("net_b.x/model.safetensors"));

        ModelCache other = new ModelCache(tmp.resolve("other-cache"));
        Registry reg = registry(entry("net_b", "x", file("model.safetensors", null, null,
                java.net.URI.create("https://unreachable.invalid/b.bin"))));
        ModelHub offline = ModelHub.builder()
                .env(Env.of(Map.of(Env.OFFLINE_VAR, "1", Env.MIRROR_VAR, "file:" + mirror)))
                .registry(reg).cache(other).build();
        assertThat(Files.readAllBytes(offline.fetch("net_b").weightsPath())).isEqualTo(B);
    }

    @Test
    void blobPathRejectsNonHashes() {
        assertThatThrownBy(() -> cache.blobPath("../../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
    }
}
