package org.attnzoo.zoo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.ImageClassifier;
import org.attnzoo.zoo.Prediction;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.hub.CachedModel;
import org.attnzoo.zoo.hub.GcReport;
import org.attnzoo.zoo.hub.ModelEntry;
import org.attnzoo.zoo.hub.ModelHub;
import org.attnzoo.zoo.hub.ProgressReporters;
import org.attnzoo.zoo.hub.RmReport;
import org.attnzoo.zoo.hub.VerifyReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.attnzoo.zoo.cli.ZooCommands.HubOptions;

import static org.attnzoo.zoo.cli.ZooCommands.JSON;
import static org.attnzoo.zoo.cli.ZooCommands.printLicenseNotice;

/** {@code attnzoo run}: classify (or embed, or extract features of) images with a zoo model. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Classify images with a zoo model, preprocessed exactly as its model card says.")
final class RunCommand extends HubCommand {
    @Parameters(index = "0", paramLabel = "MODEL[.TAG]")
    String ref;

    @Option(names = "--image", required = true, arity = "1..*", paramLabel = "FILE", description = "Image files (PNG, JPEG, BMP, GIF).")
    List<Path> images;

    @Option(names = "--top", defaultValue = "5", description = "How many classes to print per image (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--device", defaultValue = "cpu", converter = DeviceOption.DeviceConverter.class,
            description = "cpu, cuda, cuda:N or auto (default: ${DEFAULT-VALUE}).")
    Device device;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--output", defaultValue = "logits", paramLabel = "logits|embedding|features",
            description = "logits: the top classes (default); embedding: each image's pooled pre-logits vector; features: the shapes of the backbone's stage maps.")
    String output;


    @Override
    public Integer call() throws IOException {
        if (top < 1) throw new IllegalArgumentException("--top must be >= 1");
        var kind = org.attnzoo.zoo.arch.ModelOutput.Kind.parse(output);
        ModelHub hub = hubOpts.hub(true);
        printLicenseNotice(hub, ref, spec.commandLine().getErr());
        AttnZoo zoo = AttnZoo.of(hub);
        PrintWriter out = spec.commandLine().getOut();
        if (kind == org.attnzoo.zoo.arch.ModelOutput.Kind.EMBEDDING) return embed(zoo, out);
        if (kind == org.attnzoo.zoo.arch.ModelOutput.Kind.FEATURES) return features(zoo, out);
        try (ImageClassifier c = zoo.classifier(ref, device)) {
            List<List<Prediction>> preds = c.classify(images, top);
            ArrayNode arr = JSON.createArrayNode();
            for (int i = 0; i < images.size(); i++) {
                if (json) {
                    ObjectNode o = arr.addObject();
                    o.put("image", images.get(i).toString()).put("model", c.tag());
                    ArrayNode ps = o.putArray("predictions");
                    for (Prediction p : preds.get(i)) ps.addObject().put("index", p.index()).put("label", p.label()).put("probability", p.probability());
                } else {
                    out.println(images.get(i) + " (" + c.tag() + ", " + c.device() + "):");
                    for (Prediction p : preds.get(i)) {
                        out.printf(Locale.ROOT, "  %6.2f%%  %s%n", 100.0 * p.probability(), p.label());
                    }
                }
            }
            if (json) out.println(JSON.writeValueAsString(arr));
        }
        return 0;
    }

    private int embed(AttnZoo zoo, PrintWriter out) throws IOException {
        try (org.attnzoo.zoo.ImageEmbedder e = zoo.embedder(ref, device)) {
            List<float[]> vs = e.embed(images);
            ArrayNode arr = JSON.createArrayNode();
            for (int i = 0; i < images.size(); i++) {
                float[] v = vs.get(i);
                if (json) {
                    ObjectNode o = arr.addObject().put("image", images.get(i).toString()).put("model", ref);
                    ArrayNode a = o.putArray("embedding");
                    for (float f : v) a.add(f);
                } else {
                    double n = Math.sqrt(dot(v, v));
                    StringBuilder b = new StringBuilder();
                    for (int k = 0; k < Math.min(6, v.length); k++) b.append(String.format(Locale.ROOT, "%s%.4f", k == 0 ? "" : ", ", v[k]));
                    out.printf(Locale.ROOT, "%s (%s, %s): embedding [%d], L2 norm %.4f: [%s%s]%n", images.get(i), ref, e.device(), v.length, n, b,
                            v.length > 6 ? ", ..." : "");
                }
            }
            if (json) out.println(JSON.writeValueAsString(arr));
        }
        return 0;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private int features(AttnZoo zoo, PrintWriter out) throws IOException {
        try (org.attnzoo.zoo.FeatureExtractor fx = zoo.featureExtractor(ref, device)) {
            ArrayNode arr = JSON.createArrayNode();
            for (Path img : images) {
                var maps = fx.features(img);
                ObjectNode o = json ? arr.addObject().put("image", img.toString()).put("model", ref) : null;
                if (!json) out.println(img + " (" + ref + ", " + fx.device() + "):");
                for (var m : maps.entrySet()) {
                    long[] sh = m.getValue().shape();
                    double mean = 0;
                    for (float f : m.getValue().data()) mean += f;
                    mean /= Math.max(1, m.getValue().data().length);
                    if (json) {
                        ArrayNode s = o.putArray(m.getKey());
                        for (long d : sh) s.add(d);
                    } else {
                        out.printf(Locale.ROOT, "  %-12s %s  mean %.4f%n", m.getKey(), java.util.Arrays.toString(sh), mean);
                    }
                }
            }
            if (json) out.println(JSON.writeValueAsString(arr));
        }
        return 0;
    }
}
