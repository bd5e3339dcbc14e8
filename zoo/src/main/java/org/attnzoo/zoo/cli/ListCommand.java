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

/** {@code attnzoo list}: the models, their parity status and weights. */
@Command(name = "list", mixinStandardHelpOptions = true,
        description = "List the models of the zoo with their status (wildcards: 'convit_*', 'nat_*').")
final class ListCommand extends HubCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "PATTERN")
    String pattern;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;


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
