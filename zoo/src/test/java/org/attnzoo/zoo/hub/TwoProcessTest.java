package org.attnzoo.zoo.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.attnzoo.zoo.hub.Fixtures.bytes;
import static org.attnzoo.zoo.hub.Fixtures.entry;
import static org.attnzoo.zoo.hub.Fixtures.file;
import static org.attnzoo.zoo.hub.Fixtures.registry;
import static org.attnzoo.zoo.hub.Fixtures.sha256;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes pulling the same file into one cache: the second waits on the file lock and then
 * uses the first one's download. The server counts requests.
 */
class TwoProcessTest {

    @TempDir
    Path tmp;

    @Test
    void secondProcessWaitsAndReusesTheDownload() throws Exception {
        byte[] data = bytes(400_000, 11);
        Path cacheRoot = tmp.resolve("cache");
        try (TestHttpServer server = TestHttpServer.start()) {
            TestHttpServer.Resource res = server.serve("/w", data);
            res.holdAt = 100_000; // the child's download stalls half-way until we release it
            Registry reg = registry(entry("tiny_net", "test", file("model.safetensors", null, null, server.uri("/w"))));
            Path regFile = tmp.resolve("registry.json");
            Files.writeString(regFile, reg.toJson());

            // process 1: a separate JVM on the test class path
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                    ChildFetchMain.class.getName(), cacheRoot.toString(), regFile.toString(), "tiny_net")
                    .redirectErrorStream(true).start();
            List<String> childOut = new CopyOnWriteArrayList<>();
            Thread pump = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        childOut.add(line);
                    }
                } catch (Exception ignored) {
                    // process ended
                }
            });
            pump.start();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                server.awaitRequests("/w", 1, 60_000);

                // process 2: this JVM
                Fixtures.Recorder rec = new Fixtures.Recorder();
                ModelHub hub = ModelHub.builder().env(Env.empty()).registry(reg).cacheRoot(cacheRoot)
                        .downloader(Downloader.builder().env(Env.empty()).progress(rec)
                                .lockTimeout(Duration.ofSeconds(60)).build())
                        .build();
                Future<FetchedModel> mine = pool.submit(() -> hub.fetch("tiny_net"));
                long end = System.currentTimeMillis() + 20_000;
                while (!rec.saw("waiting for another process") && System.currentTimeMillis() < end) {
                    Thread.sleep(20);
                }
                assertThat(rec.messages).anySatisfy(m -> assertThat(m)
                        .startsWith("waiting for another process: pid " + child.pid() + ": downloading tiny_net.test/model.safetensors"));
                assertThat(mine.isDone()).isFalse();

                res.release.countDown();
                assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
                pump.join(5000);
                assertThat(child.exitValue()).as("child output: %s", childOut).isZero();
                FetchedModel fm = mine.get(60, TimeUnit.SECONDS);

                String sha = sha256(data);
                assertThat(childOut).contains("OK " + sha + " " + cacheRoot.resolve("blobs/sha256/" + sha));
                assertThat(fm.weights().sha256()).isEqualTo(sha);
                assertThat(Files.readAllBytes(fm.weightsPath())).isEqualTo(data);
                assertThat(server.requests("/w")).hasSize(1);
                assertThat(new ModelCache(cacheRoot).pins()).containsOnlyKeys(server.uri("/w").toString());
            } finally {
                pool.shutdownNow();
                child.destroyForcibly();
            }
        }
    }
}
