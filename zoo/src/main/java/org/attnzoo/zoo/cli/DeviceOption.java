package org.attnzoo.zoo.cli;

import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import picocli.CommandLine.Option;

/** Options shared by the verbs that run a model. */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto (default: ${DEFAULT-VALUE}).",
            converter = DeviceConverter.class)
    Device device;

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op threads (0 = ONNX Runtime's choice).")
    int threads;

    RuntimeOptions options() {
        if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0");
        return RuntimeOptions.defaults().withDevice(device).withThreads(threads);
    }

    static final class DeviceConverter implements picocli.CommandLine.ITypeConverter<Device> {
        @Override
        public Device convert(String value) {
            return Device.parse(value);
        }
    }
}
