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

/** {@code attnzoo cache ls|rm|gc}: inspect and clean the local cache. */
@Command(name = "cache", mixinStandardHelpOptions = true, description = "Inspect and clean the local cache (ATTNZOO_HOME, default ~/.cache/attnzoo).",
        subcommands = {CacheCommand.CacheLs.class, CacheCommand.CacheRm.class, CacheCommand.CacheGc.class})
final class CacheCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List cached models, files and converted graphs.")
    static final class CacheLs extends HubCommand {

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
    static final class CacheRm extends HubCommand {
        @Parameters(index = "0", paramLabel = "TAG|MODEL|PATTERN")
        String what;


        @Override
        public Integer call() throws IOException {
            RmReport r = hubOpts.hub(false).cache().rm(what);
            spec.commandLine().getOut().printf(Locale.ROOT, "removed %s; freed %s%n", r.removedTags(), ProgressReporters.humanBytes(r.bytesFreed()));
            return r.removedTags().isEmpty() ? 1 : 0;
        }
    }

    @Command(name = "gc", mixinStandardHelpOptions = true, description = "Delete unreferenced blobs and leftover temporary files.")
    static final class CacheGc extends HubCommand {

        @Override
        public Integer call() throws IOException {
            GcReport r = hubOpts.hub(false).cache().gc();
            spec.commandLine().getOut().printf(Locale.ROOT, "removed %d blobs and %d temporary files; freed %s%n",
                    r.blobsRemoved(), r.tempRemoved(), ProgressReporters.humanBytes(r.bytesFreed()));
            return 0;
        }
    }
}
