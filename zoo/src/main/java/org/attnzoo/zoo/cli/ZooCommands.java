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

/** The model-zoo verbs: list, info, pull, run, verify, cache. */
final class ZooCommands {
    private ZooCommands() {
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Options every zoo verb shares. */
    static final class HubOptions {
        @Option(names = "--offline", description = "Never touch the network (also ATTNZOO_OFFLINE=1).")
        boolean offline;

        @Option(names = "--home", paramLabel = "DIR", description = "Cache directory (default: ATTNZOO_HOME, else ~/.cache/attnzoo).")
        Path home;

        ModelHub hub(boolean progress) throws IOException {
            ModelHub.Builder b = ModelHub.builder();
            if (offline) b.offline(true);
            if (home != null) b.cacheRoot(home);
            b.progress(progress ? ProgressReporters.forConsole() : ProgressReporters.silent());
            return b.build();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the models of the zoo with their status (wildcards: 'convit_*', 'nat_*').")
    static final class ListCommand implements Callable<Integer> {
        @Parameters(index = "0", arity = "0..1", paramLabel = "PATTERN")
        String pattern;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            ModelHub hub = hubOpts.hub(false);
            String glob = pattern == null ? "*" : pattern;
            Set<String> names = new LinkedHashSet<>();
            for (ModelEntry e : hub.registry().list(glob)) names.add(e.name());
            names.addAll(Architectures.names(glob));
            PrintWriter out = spec.commandLine().getOut();
            ArrayNode arr = JSON.createArrayNode();
            int nameWidth = Math.max(24, names.stream().mapToInt(String::length).max().orElse(0));
            String row = "%-" + nameWidth + "s %-11s %-11s %-7s %s%s%n";
            if (!json) out.printf(Locale.ROOT, row, "MODEL", "FAMILY", "PARITY", "TOP-1", "WEIGHTS", "");
            for (String n : names) {
                ModelEntry e = hub.registry().find(n).orElse(null);
                String family = e != null ? e.family() : Architectures.get(n).family();
                String parity = e != null ? e.parity().status().id() : org.attnzoo.zoo.arch.FamilyParity.status(family);
                String top1 = e != null && e.reportedTop1() != null ? String.format(Locale.ROOT, "%.1f", e.reportedTop1()) : "-";
                String tags = e != null ? String.join(",", e.tags()) : "(none in the registry: convert your own checkpoint)";
                boolean buildable = Architectures.exists(n);
                if (json) {
                    ObjectNode o = arr.addObject();
                    o.put("name", n).put("family", family).put("parity", parity).put("buildable", buildable);
                    if (e != null && e.reportedTop1() != null) o.put("reported_top1", e.reportedTop1());
                    ArrayNode t = o.putArray("tags");
                    if (e != null) e.tags().forEach(t::add);
                } else {
                    out.printf(Locale.ROOT, row, n, family, parity, top1, tags, buildable ? "" : "  [not buildable yet]");
                }
            }
            if (json) out.println(JSON.writeValueAsString(arr));
            return 0;
        }
    }

    /** The registry's one-line licence notice of the model {@code ref} names, on stderr, before it is used. */
    static void printLicenseNotice(ModelHub hub, String ref, PrintWriter err) {
        ModelEntry e = hub.resolve(ref).model();
        if (e.licenseNotice() != null) err.println("attnzoo: " + e.name() + ": " + e.licenseNotice());
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Show a model's card: paper, licences, preprocessing, weights, cache state.")
    static final class InfoCommand implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL[.TAG]")
        String ref;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

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
            out.println("  preprocessing: input " + p.inputSize() + ", mean " + p.mean() + ", std " + p.std()
                    + ", crop_pct " + p.cropPct() + ", " + p.interpolation().name().toLowerCase(Locale.ROOT)
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

    @Command(name = "pull", mixinStandardHelpOptions = true, description = "Download, verify and convert a model into the cache; print the ONNX path.")
    static final class PullCommand implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL[.TAG]")
        String ref;

        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            ModelHub hub = hubOpts.hub(true);
            printLicenseNotice(hub, ref, spec.commandLine().getErr());
            AttnZoo zoo = AttnZoo.of(hub);
            Path onnx = zoo.onnx(ref);
            spec.commandLine().getOut().println(onnx);
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Classify images with a zoo model, preprocessed exactly as its model card says.")
    static final class RunCommand implements Callable<Integer> {
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

        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

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

    @Command(name = "verify", mixinStandardHelpOptions = true, description = "Re-hash every cached file; report (and with --fix remove) corrupted ones.")
    static final class VerifyCommand implements Callable<Integer> {
        @Option(names = "--fix", description = "Remove corrupted files so the next pull fetches them again.")
        boolean fix;

        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            VerifyReport r = hubOpts.hub(false).cache().verify(fix);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "checked %d files (%s)%n", r.blobsChecked(), ProgressReporters.humanBytes(r.bytesChecked()));
            for (var p : r.problems()) out.println("  " + p);
            return r.ok() ? 0 : 1;
        }
    }

    @Command(name = "cache", mixinStandardHelpOptions = true, description = "Inspect and clean the local cache (ATTNZOO_HOME, default ~/.cache/attnzoo).",
            subcommands = {CacheLs.class, CacheRm.class, CacheGc.class})
    static final class CacheCommand implements Runnable {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List cached models, files and converted graphs.")
    static final class CacheLs implements Callable<Integer> {
        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            ModelHub hub = hubOpts.hub(false);
            PrintWriter out = spec.commandLine().getOut();
            out.println("cache: " + hub.cache().root());
            List<CachedModel> ms = new ArrayList<>(hub.cache().ls());
            if (ms.isEmpty()) out.println("  (empty)");
            for (CachedModel m : ms) {
                out.println("  " + m.tag() + "  " + ProgressReporters.humanBytes(m.sizeBytes()));
                for (var f : m.files()) out.println("    " + f.name() + "  " + f.sha256());
                for (var c : m.converted()) out.println("    converted: " + c);
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a model (tag, name or wildcard) from the cache.")
    static final class CacheRm implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "TAG|MODEL|PATTERN")
        String what;

        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            RmReport r = hubOpts.hub(false).cache().rm(what);
            spec.commandLine().getOut().printf(Locale.ROOT, "removed %s; freed %s%n", r.removedTags(), ProgressReporters.humanBytes(r.bytesFreed()));
            return r.removedTags().isEmpty() ? 1 : 0;
        }
    }

    @Command(name = "gc", mixinStandardHelpOptions = true, description = "Delete unreferenced blobs and leftover temporary files.")
    static final class CacheGc implements Callable<Integer> {
        @Mixin
        HubOptions hubOpts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            GcReport r = hubOpts.hub(false).cache().gc();
            spec.commandLine().getOut().printf(Locale.ROOT, "removed %d blobs and %d temporary files; freed %s%n",
                    r.blobsRemoved(), r.tempRemoved(), ProgressReporters.humanBytes(r.bytesFreed()));
            return 0;
        }
    }
}
