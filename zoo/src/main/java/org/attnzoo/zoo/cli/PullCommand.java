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

/** {@code attnzoo pull}: download, verify and convert into the cache. */
@Command(name = "pull", mixinStandardHelpOptions = true, description = "Download, verify and convert a model into the cache; print the ONNX path.")
final class PullCommand extends HubCommand {
    @Parameters(index = "0", paramLabel = "MODEL[.TAG]")
    String ref;


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
