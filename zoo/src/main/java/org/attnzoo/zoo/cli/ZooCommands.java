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

/** What the zoo subcommands share: the hub options, JSON output, the licence notice. Each subcommand has its own file. */
final class ZooCommands {
    private ZooCommands() {
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .registerModule(org.attnzoo.zoo.hub.PreprocessingJson.MODULE);

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
            b.progress(progress ? TerminalProgress.forConsole() : ProgressReporters.silent());
            return b.build();
        }
    }


    /** The registry's one-line licence notice of the model {@code ref} names, on stderr, before it is used. */
    static void printLicenseNotice(ModelHub hub, String ref, PrintWriter err) {
        ModelEntry e = hub.resolve(ref).model();
        if (e.licenseNotice() != null) err.println("attnzoo: " + e.name() + ": " + e.licenseNotice());
    }
}
