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

/** {@code attnzoo info}: a model card, the outputs and sizes a model offers. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Show a model's card: paper, licences, preprocessing, weights, cache state.")
final class InfoCommand extends HubCommand {
    @Parameters(index = "0", paramLabel = "MODEL[.TAG]")
    String ref;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;


    @Override
    public Integer call() throws IOException {
        ModelHub hub = hubOpts.hub(false);
        PrintWriter out = spec.commandLine().getOut();
        if (hub.registry().find(ref).isEmpty() && Architectures.exists(ref)) {
            printArchitectureCard(Architectures.get(ref), out);
            return 0;
        }
        var rm = hub.resolve(ref);
        ModelEntry e = rm.model();
        if (json) {
            if (Architectures.exists(e.name())) {
                ObjectNode o = JSON.valueToTree(e);
                putOutputs(Architectures.get(e.name()), o);
                out.println(JSON.writeValueAsString(o));
            } else {
                out.println(JSON.writeValueAsString(e));
            }
            return 0;
        }
        out.println(e.name() + " (" + e.family() + ", " + e.variant() + ")");
        out.println("  paper:         " + e.paper().title() + " <" + e.paper().url() + ">");
        out.println("  code licence:  " + e.codeLicense());
        if (e.licenseNotice() != null) out.println("  licence notice: " + e.licenseNotice());
        out.println("  parity:        " + e.parity().status().id() + (e.parity().reason() == null ? "" : " — " + e.parity().reason()));
        if (e.reportedTop1() != null) out.println("  reported top1: " + e.reportedTop1());
        var p = e.preprocessing();
        out.println("  preprocessing: input " + java.util.Arrays.toString(p.inputSize()) + ", mean " + java.util.Arrays.toString(p.mean())
                + ", std " + java.util.Arrays.toString(p.std()) + ", crop_pct " + p.cropPct() + ", " + p.interpolation()
                + ("squash".equals(p.cropMode()) ? ", squash (both sides resized, no aspect ratio kept)" : ""));
        out.println("  labels:        " + e.labels());
        if (Architectures.exists(e.name())) printOutputs(Architectures.get(e.name()), out);
        for (var w : e.weights()) {
            out.println("  weights " + w.tag() + " (licence " + w.license() + ")" + (w.tag().equals(rm.tag()) ? " [selected]" : ""));
            for (var f : w.files()) {
                out.println("    " + f.name() + "  sha256 " + (f.sha256() == null ? "unknown (pinned on first download)" : f.sha256())
                        + (hub.cache().lookup(w.tag(), f.name()).isPresent() ? "  [cached]" : ""));
                for (var s : f.sources()) out.println("      from " + s.url());
            }
        }
        return 0;
    }

    /** What {@code convert --output} and {@code --img-size} can give for this model. */
    static void printOutputs(org.attnzoo.zoo.arch.Architecture a, PrintWriter out) {
        var b = a.backbone();
        out.println("  outputs:       " + (b == null ? "logits only (the family declares no embedding or feature maps yet)" : b.describeOutputs()));
        out.println("  input size:    " + sizes(a));
    }

    static void putOutputs(org.attnzoo.zoo.arch.Architecture a, ObjectNode o) {
        var b = a.backbone();
        ArrayNode outs = o.putArray("outputs");
        outs.add("logits");
        if (b != null && b.hasEmbedding()) outs.add("embedding");
        if (b != null && !b.stages().isEmpty()) outs.add("features");
        if (b != null && b.hasEmbedding()) o.put("embedding_dim", b.embeddingDim());
        if (b != null && !b.stages().isEmpty()) {
            ArrayNode st = o.putArray("features");
            for (var s : b.stages()) st.addObject().put("index", s.index()).put("channels", s.channels()).put("reduction", s.reduction());
        }
        o.put("input_size", sizes(a));
    }

    /** The card's size and whether others work (probed with the family's own size check; nothing is built). */
    static String sizes(org.attnzoo.zoo.arch.Architecture a) {
        int[] in = a.inputSize();
        String card = in[1] + "x" + in[2];
        int probe = in[1] + 32;
        try {
            a.atSize(probe, probe);
            return card + "; other sizes with --img-size (e.g. " + probe + ")";
        } catch (IllegalArgumentException ex) {
            return card + "; " + ex.getMessage();
        }
    }

    /** A buildable model that has no registry entry (no released weights): what it is and how to get an ONNX file of it. */
    private void printArchitectureCard(org.attnzoo.zoo.arch.Architecture a, PrintWriter out) throws IOException {
        String parity = org.attnzoo.zoo.arch.FamilyParity.status(a.family());
        String test = org.attnzoo.zoo.arch.FamilyParity.test(a.family()).orElse(null);
        var p = a.preprocessing();
        String convert = "attnzoo convert " + a.name() + " --checkpoint FILE  (or --random-weights SEED)";
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.put("name", a.name()).put("family", a.family()).put("parity", parity);
            if (test != null) o.put("parity_test", test);
            o.put("num_classes", a.numClasses()).put("in_registry", false).put("convert", convert);
            o.putPOJO("preprocessing", p.toMetadata());
            putOutputs(a, o);
            out.println(JSON.writeValueAsString(o));
            return;
        }
        out.println(a.name() + " (" + a.family() + ")");
        out.println("  parity:        " + parity + (test == null ? "" : " (family builder vs the authors' code: " + test + ")"));
        out.println("  classes:       " + a.numClasses());
        out.println("  preprocessing: " + p);
        printOutputs(a, out);
        out.println("  weights:       none in the registry; convert a checkpoint in the upstream layout:");
        out.println("                 " + convert);
    }
}
