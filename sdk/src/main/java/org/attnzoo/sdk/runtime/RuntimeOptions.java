package org.attnzoo.sdk.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * How to open a model: device, thread counts (0 = ONNX Runtime's default), whether a CUDA request
 * may fall back to CPU, and native custom-op libraries to register (a kernel registered for a
 * custom domain's op replaces the op's ONNX function body), whether graph optimizations run, and
 * where ONNX Runtime writes its per-node profile (null: no profiling; see
 * {@link OnnxSession#endProfiling()}), and whether idle intra-op threads spin (ONNX Runtime's default;
 * lowest latency for one session, but a spinning pool steals cores from other sessions in the same
 * process, so interleaved benchmarks turn it off).
 */
public record RuntimeOptions(Device device, int intraOpThreads, int interOpThreads, boolean allowCpuFallback,
                             List<Path> customOpLibraries, boolean optimize, Path profilePrefix, boolean spinning) {

    public RuntimeOptions(Device device, int intraOpThreads, int interOpThreads, boolean allowCpuFallback,
                          List<Path> customOpLibraries, boolean optimize, Path profilePrefix) {
        this(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, profilePrefix, true);
    }

    public RuntimeOptions(Device device, int intraOpThreads, int interOpThreads, boolean allowCpuFallback,
                          List<Path> customOpLibraries, boolean optimize) {
        this(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, null, true);
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions(Device.cpu(), 0, 1, true, List.of(), true, null, true);
    }

    public RuntimeOptions withDevice(Device d) {
        return new RuntimeOptions(d, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, profilePrefix, spinning);
    }

    public RuntimeOptions withThreads(int intra) {
        return new RuntimeOptions(device, intra, interOpThreads, allowCpuFallback, customOpLibraries, optimize, profilePrefix, spinning);
    }

    public RuntimeOptions withCpuFallback(boolean allow) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allow, customOpLibraries, optimize, profilePrefix, spinning);
    }

    public RuntimeOptions withCustomOpLibrary(Path lib) {
        List<Path> l = new java.util.ArrayList<>(customOpLibraries);
        l.add(lib);
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, List.copyOf(l), optimize, profilePrefix, spinning);
    }

    public RuntimeOptions withOptimize(boolean on) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, on, profilePrefix, spinning);
    }

    /**
     * Profiles every run of the session: ONNX Runtime writes a Chrome-trace JSON file whose name
     * starts with {@code prefix} (it appends a timestamp) when the session ends profiling.
     */
    public RuntimeOptions withProfiling(Path prefix) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, prefix, spinning);
    }

    /** Whether idle intra-op threads spin waiting for work ({@code session.intra_op.allow_spinning}). */
    public RuntimeOptions withSpinning(boolean on) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, profilePrefix, on);
    }
}
