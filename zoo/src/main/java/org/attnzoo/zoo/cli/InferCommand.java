package org.attnzoo.zoo.cli;

import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

@Command(name = "infer", mixinStandardHelpOptions = true,
        description = "Run an ONNX model on a NumPy array and save its first output (e.g. logits) as .npy.")
final class InferCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL.onnx", description = "The model file.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X.npy", description = "Input array (float32; other numeric dtypes are converted).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "Y.npy", description = "Where to write the first output (float32).")
    Path output;

    @Mixin
    DeviceOption dev;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(input)) throw new IllegalArgumentException(input + ": no such input file");
        NdArray x = Npy.read(input);
        try (OnnxSession s = OnnxSession.open(model, dev.options())) {
            NdArray y = s.run(x);
            Npy.write(output, y);
            spec.commandLine().getOut().println("wrote " + output + " " + Arrays.toString(y.shape()) + " (" + s.device() + ")");
        }
        return 0;
    }
}
