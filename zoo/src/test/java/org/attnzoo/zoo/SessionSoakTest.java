package org.attnzoo.zoo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.zoo.hub.ModelHub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A concurrency soak on one shared {@link OnnxSession} of the shipped {@code convit_digits} model:
 * 8 threads run it at once on held-out digits, and every result must equal, bit for bit, what a
 * single thread got for the same input; the Java heap in use and the process's native memory (VmRSS
 * of /proc/self/status less the committed Java heap, which the JVM grows on its own) must stay flat
 * after warm-up; and closing the session while the threads run
 * must give each of them a clear {@link IllegalStateException}, never a crash.
 *
 * <p>In {@code mvn test} each thread does {@value #CI_RUNS} runs (a few seconds); the full soak of
 * 8 &times; 1,000 runs is {@code mvn -pl zoo -am test -Dtest=SessionSoakTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dattnzoo.soak.runs=1000} (docs/reliability.md records
 * its figures).
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class SessionSoakTest {
    static final int THREADS = 8;
    static final int CI_RUNS = 100;
    static final int INPUTS = 16;

    @TempDir
    static Path home;

    static Path model;
    static NdArray[] inputs = new NdArray[INPUTS];
    static float[][] expected = new float[INPUTS][];

    @BeforeAll
    static void buildModelAndSingleThreadedReference() throws Exception {
        byte[] x = DigitsModelTest.npyBody(DigitsModelTest.RES + "heldout_x.npy");
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(home).offline(true).build());
             ImageClassifier c = zoo.classifier("convit_digits", Device.cpu())) {
            model = c.modelFile();
            Preprocessing p = AttnZoo.preprocessing(c.card());
            int hw = 32 * 32;
            for (int i = 0; i < INPUTS; i++) {
                float[] one = new float[3 * hw];
                for (int ch = 0; ch < 3; ch++) {
                    for (int k = 0; k < hw; k++) {
                        double v = (x[i * hw + k] & 0xff) / 255.0;
                        one[ch * hw + k] = (float) ((v - p.mean()[ch]) / p.std()[ch]);
                    }
                }
                inputs[i] = new NdArray(one, new long[]{1, 3, 32, 32});
            }
        }
        try (OnnxSession s = open()) {
            for (int i = 0; i < INPUTS; i++) expected[i] = s.run(inputs[i]).data();
        }
        assertThat(expected[0]).hasSize(10);
    }

    @AfterAll
    static void report() {
        System.out.println("soak: VmHWM (peak RSS) " + status("VmHWM") / 1024 + " MiB");
    }

    static OnnxSession open() {
        return OnnxSession.open(model, RuntimeOptions.defaults().withDevice(Device.cpu()).withThreads(1));
    }

    static int runsPerThread() {
        return Integer.getInteger("attnzoo.soak.runs", CI_RUNS);
    }

    @Test
    void eightThreadsShareOneSessionWithStableMemory() throws Exception {
        int runs = runsPerThread();
        int warmup = Math.max(10, runs / 10);
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        try (OnnxSession s = open()) {
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                // warm-up: every thread does its first runs; then measure
                soak(s, pool, warmup, 0);
                gc();
                long heap0 = mem.getHeapMemoryUsage().getUsed();
                long rss0 = status("VmRSS");
                long native0 = rss0 - mem.getHeapMemoryUsage().getCommitted() / 1024;
                long t0 = System.nanoTime();
                List<long[]> samples = soak(s, pool, runs - warmup, warmup);
                double secs = (System.nanoTime() - t0) / 1e9;
                gc();
                long heap1 = mem.getHeapMemoryUsage().getUsed();
                long rss1 = status("VmRSS");
                long native1 = rss1 - mem.getHeapMemoryUsage().getCommitted() / 1024;
                long total = (long) THREADS * runs;
                long measured = total - (long) THREADS * warmup;
                System.out.printf("soak: %d threads x %d runs (%d after a warm-up of %d each) in %.1f s, %.0f runs/s;"
                                + " heap in use after warm-up %.1f MiB, at the end %.1f MiB; RSS after warm-up %d MiB, at the"
                                + " end %d MiB; native (RSS - committed heap) after warm-up %d MiB, at the end %d MiB"
                                + " (%+.2f KiB per run); samples during the run (RSS/native MiB) %s%n",
                        THREADS, runs, measured, warmup, secs, measured / secs,
                        heap0 / 1048576.0, heap1 / 1048576.0, rss0 / 1024, rss1 / 1024, native0 / 1024, native1 / 1024,
                        (native1 - native0) / (double) measured,
                        samples.stream().map(v -> v[1] / 1024 + "/" + v[2] / 1024).toList());
                assertThat(heap1 - heap0).as("heap in use, growth after warm-up (bytes)").isLessThan(32L << 20);
                // ONNX Runtime's allocator and the C library's per-thread arenas grow until they hold what 8
                // concurrent runs need at their peak, then stay flat: a leak is growth that goes on, so the
                // last quarter of the run must be flat, and the whole run's growth must stay modest
                long q3 = samples.stream().filter(v -> v[0] >= (runs - warmup) * 3L / 4).mapToLong(v -> v[2])
                        .findFirst().orElse(native0);
                System.out.printf("soak: native memory in the last quarter of the runs: %+d KiB%n", native1 - q3);
                assertThat(native1 - q3).as("native memory growth in the last quarter of the runs (KiB)").isLessThan(8L << 10);
                assertThat(native1 - native0).as("native memory growth after warm-up (KiB)").isLessThan(128L << 10);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /**
     * {@code runs} runs on each of {@value #THREADS} threads, every output compared with the
     * single-threaded one; returns (run, VmRSS KiB, VmRSS less committed heap KiB) samples taken by thread 0.
     */
    static List<long[]> soak(OnnxSession s, ExecutorService pool, int runs, int offset) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> fs = new ArrayList<>();
        List<long[]> samples = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            fs.add(pool.submit(() -> {
                start.await();
                int ok = 0;
                for (int i = 0; i < runs; i++) {
                    int k = (thread * 7 + offset + i) % INPUTS;
                    float[] got = s.run(inputs[k]).data();
                    if (!Arrays.equals(got, expected[k])) {
                        throw new AssertionError("thread " + thread + " run " + (offset + i) + " input " + k + ": "
                                + Arrays.toString(got) + " differs from the single-threaded " + Arrays.toString(expected[k]));
                    }
                    ok++;
                    if (thread == 0 && runs >= 10 && i % (runs / 10) == 0) {
                        synchronized (samples) {
                            long rss = status("VmRSS");
                            long committed = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1024;
                            samples.add(new long[]{i, rss, rss - committed});
                        }
                    }
                }
                return ok;
            }));
        }
        start.countDown();
        int ok = 0;
        for (Future<Integer> f : fs) ok += f.get(20, TimeUnit.MINUTES);
        assertThat(ok).isEqualTo(THREADS * runs);
        return samples;
    }

    @Test
    void closingWhileThreadsRunGivesEachAClearError() throws Exception {
        OnnxSession s = open();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        AtomicInteger done = new AtomicInteger();
        AtomicLong started = new AtomicLong();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch running = new CountDownLatch(THREADS);
        List<Future<?>> fs = new ArrayList<>();
        try {
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                fs.add(pool.submit(() -> {
                    running.countDown();
                    for (int i = 0; ; i++) {
                        int k = (thread + i) % INPUTS;
                        started.incrementAndGet();
                        try {
                            float[] got = s.run(inputs[k]).data();
                            if (!Arrays.equals(got, expected[k])) errors.add(new AssertionError("wrong result before close"));
                            done.incrementAndGet();
                        } catch (Throwable e) {
                            errors.add(e);
                            return;
                        }
                    }
                }));
            }
            running.await();
            while (done.get() < 4 * THREADS) Thread.sleep(1);
            s.close(); // waits for the runs in flight; later ones must fail cleanly
            for (Future<?> f : fs) f.get(1, TimeUnit.MINUTES);
        } finally {
            pool.shutdownNow();
            s.close();
        }
        assertThat(errors).hasSize(THREADS);
        for (Throwable e : errors) {
            assertThat(e).isInstanceOf(IllegalStateException.class).hasMessage(model + ": session is closed");
        }
        assertThat(s.isClosed()).isTrue();
        for (Runnable r : List.<Runnable>of(() -> s.run(inputs[0]), s::inputNames, s::outputNames, s::metadata)) {
            try {
                r.run();
                throw new AssertionError("a closed session answered");
            } catch (IllegalStateException e) {
                assertThat(e).hasMessage(model + ": session is closed");
            }
        }
        System.out.printf("soak: closed under load after %d completed runs; all %d threads got '%s: session is closed'%n",
                done.get(), THREADS, model.getFileName());
    }

    private static void gc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
    }

    /** A {@code kB} field of /proc/self/status (VmRSS, VmHWM), or 0 where there is none. */
    static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: memory figures are reported as 0 and the RSS check is vacuous
        }
        return 0;
    }
}
