package org.attnzoo.zoo.cli;

import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Build MODEL's ONNX graph with the weights of an upstream checkpoint (safetensors or PyTorch .pth/.pt/.bin).")
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "Upstream model name, e.g. convit_tiny (see `attnzoo list`).")
    String model;

    @ArgGroup(multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--checkpoint", paramLabel = "FILE", description = "The upstream checkpoint.")
        Path checkpoint;

        @Option(names = "--random-weights", paramLabel = "SEED", description = "Made-up weights (for benchmarks and tests).")
        Long seed;
    }

    @Option(names = "--key", paramLabel = "KEY", description = "Which wrapped state dict to take (model, state_dict, model_ema, ...); default: the first found.")
    String key;

    @Option(names = "--allow-opaque", paramLabel = "GLOBAL", split = ",",
            description = "More pickle globals to read as inert placeholders instead of refusing the file (argparse.Namespace, the 'args' of training checkpoints, is read so by default). Nothing is ever executed.")
    String[] opaque = new String[0];

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.onnx", description = "Where to write the model.")
    Path output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Architecture arch = Architectures.get(model);
        ModelBuilder.Built built;
        if (source.checkpoint != null) {
            if (!Files.isRegularFile(source.checkpoint)) throw new IllegalArgumentException(source.checkpoint + ": no such checkpoint file");
            Checkpoints.Options opts = Checkpoints.Options.defaults().withOpaqueGlobals(opaque);
            if (key != null) opts = opts.withEntry(key);
            built = ModelBuilder.convert(arch, source.checkpoint, opts, output);
        } else {
            built = ModelBuilder.buildSynthetic(arch, source.seed);
            OnnxModel.save(built.graph(), output);
        }
        spec.commandLine().getOut().println(String.format(Locale.ROOT, "wrote %s: %s, %,d parameters, %d nodes, %.1f MB",
                output, model, built.parameters(), built.graph().nodeCount(), Files.size(output) / 1e6));
        return 0;
    }
}
