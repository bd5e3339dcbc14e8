package org.attnzoo.zoo.cli;

import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Build MODEL's ONNX graph with the weights of an upstream checkpoint (safetensors or PyTorch .pth/.pt/.bin): "
                + "its logits, its embedding (pooled pre-logits) or its backbone's feature maps, at its card's input size or another.")
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

    @Option(names = {"-o", "--out"}, paramLabel = "FILE.onnx", description = "Where to write the model.")
    Path out;

    @Option(names = "--output", paramLabel = "logits|embedding|features",
            description = "What the graph returns: logits (default); embedding, the pooled pre-logits vector [N, D]; features, the backbone's "
                    + "stage maps, one NCHW output per index named features.N (see `attnzoo info MODEL` for what a model offers).")
    String output;

    @Option(names = "--out-indices", paramLabel = "I,J,...", description = "With --output features: which stages (default: all).")
    String outIndices;

    @Option(names = "--img-size", paramLabel = "H[,W]", description = "Input size, where the family can run at other sizes (default: the card's).")
    String imgSize;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ModelOutput.Kind kind = ModelOutput.Kind.LOGITS;
        Path file = out;
        if (output != null) {
            boolean isKind = java.util.Arrays.stream(ModelOutput.Kind.values()).anyMatch(k -> k.label().equalsIgnoreCase(output.trim()));
            if (!isKind && out == null) {
                file = Path.of(output);          // the earlier form: --output FILE.onnx
            } else {
                kind = ModelOutput.Kind.parse(output);
            }
        }
        if (file == null) throw new IllegalArgumentException("say where to write the model: -o FILE.onnx");
        if (outIndices != null && kind != ModelOutput.Kind.FEATURES) throw new IllegalArgumentException("--out-indices needs --output features");
        ModelOutput what = kind == ModelOutput.Kind.FEATURES ? ModelOutput.features(ModelOutput.parseIndices(outIndices)) : new ModelOutput(kind, null);
        Architecture arch = Architectures.get(model);
        if (imgSize != null) {
            int[] hw = parseSize(imgSize);
            arch = arch.atSize(hw[0], hw[1]);
        }
        ModelBuilder.checkOffered(arch, what);
        ModelBuilder.Built built;
        if (source.checkpoint != null) {
            if (!Files.isRegularFile(source.checkpoint)) throw new IllegalArgumentException(source.checkpoint + ": no such checkpoint file");
            Checkpoints.Options opts = Checkpoints.Options.defaults().withOpaqueGlobals(opaque);
            if (key != null) opts = opts.withEntry(key);
            built = ModelBuilder.convert(arch, source.checkpoint, opts, what, file);
        } else {
            built = ModelBuilder.buildSynthetic(arch, source.seed, what);
            OnnxModel.save(built.graph(), file);
        }
        int[] in = arch.inputSize();
        spec.commandLine().getOut().println(String.format(Locale.ROOT, "wrote %s: %s (%s, %dx%d), %,d parameters, %d nodes, %.1f MB",
                file, model, describe(built, what), in[1], in[2], built.parameters(), built.graph().nodeCount(), Files.size(file) / 1e6));
        return 0;
    }

    private static String describe(ModelBuilder.Built b, ModelOutput what) {
        StringBuilder s = new StringBuilder();
        for (var v : b.graph().outputs()) {
            if (s.length() > 0) s.append(", ");
            s.append(v.name()).append(org.attnzoo.sdk.graph.Shapes.str(v.shape()));
        }
        return s.toString();
    }

    /** {@code 320} or {@code 320,480} (height, width). */
    static int[] parseSize(String s) {
        String[] p = s.trim().split("\\s*[,x]\\s*");
        try {
            if (p.length == 1) {
                int v = Integer.parseInt(p[0]);
                return new int[]{v, v};
            }
            if (p.length == 2) return new int[]{Integer.parseInt(p[0]), Integer.parseInt(p[1])};
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("--img-size must be H or H,W (e.g. 384 or 320,480), got '" + s + "'");
    }
}
