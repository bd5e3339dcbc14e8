package org.attnzoo.sdk.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * How to open a model: device, thread counts (0 = ONNX Runtime's default), whether a CUDA request
 * may fall back to CPU, and native custom-op libraries to register (a kernel registered for a
 * custom domain's op replaces the op's ONNX function body), whether graph optimizations run, and
 * where ONNX Runtime writes its per-node profile (null: no profiling; see
 * {@link OnnxSession#endProfiling()}).
 */
public record RuntimeOptions(Device device, int intraOpThreads, int interOpThreads, boolean allowCpuFallback,
                             List<Path> customOpLibraries, boolean optimize, Path profilePrefix) {

    public RuntimeOptions(Device device, int intraOpThreads, int interOpThreads, boolean allowCpuFallback,
                          List<Path> customOpLibraries, boolean optimize) {
        this(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, null);
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions(Device.cpu(), 0, 1, true, List.of(), true, null);
    }

    public RuntimeOptions withDevice(Device d) {
        return new RuntimeOptions(d, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, profilePrefix);
    }

    public RuntimeOptions withThreads(int intra) {
        return new RuntimeOptions(device, intra, interOpThreads, allowCpuFallback, customOpLibraries, optimize, profilePrefix);
    }

    public RuntimeOptions withCpuFallback(boolean allow) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allow, customOpLibraries, optimize, profilePrefix);
    }

    public RuntimeOptions withCustomOpLibrary(Path lib) {
        List<Path> l = new java.util.ArrayList<>(customOpLibraries);
        l.add(lib);
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, List.copyOf(l), optimize, profilePrefix);
    }

    public RuntimeOptions withOptimize(boolean on) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, on, profilePrefix);
    }

    /**
     * Profiles every run of the session: ONNX Runtime writes a Chrome-trace JSON file whose name
     * starts with {@code prefix} (it appends a timestamp) when the session ends profiling.
     */
    public RuntimeOptions withProfiling(Path prefix) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize, prefix);
    }
}
