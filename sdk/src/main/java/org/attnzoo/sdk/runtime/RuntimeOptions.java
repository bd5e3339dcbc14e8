package org.attnzoo.sdk.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * How to open a model: device, thread counts (0 = ONNX Runtime's default), whether a CUDA request
 * may fall back to CPU, and native custom-op libraries to register (a kernel registered for a
 * custom domain's op replaces the op's ONNX function body).
 */
public record RuntimeOptions(Device device, int intraOpThreads, int interOpThreads, boolean allowCpuFallback,
                             List<Path> customOpLibraries, boolean optimize) {

    public static RuntimeOptions defaults() {
        return new RuntimeOptions(Device.cpu(), 0, 1, true, List.of(), true);
    }

    public RuntimeOptions withDevice(Device d) {
        return new RuntimeOptions(d, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, optimize);
    }

    public RuntimeOptions withThreads(int intra) {
        return new RuntimeOptions(device, intra, interOpThreads, allowCpuFallback, customOpLibraries, optimize);
    }

    public RuntimeOptions withCpuFallback(boolean allow) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allow, customOpLibraries, optimize);
    }

    public RuntimeOptions withCustomOpLibrary(Path lib) {
        List<Path> l = new java.util.ArrayList<>(customOpLibraries);
        l.add(lib);
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, List.copyOf(l), optimize);
    }

    public RuntimeOptions withOptimize(boolean on) {
        return new RuntimeOptions(device, intraOpThreads, interOpThreads, allowCpuFallback, customOpLibraries, on);
    }
}
