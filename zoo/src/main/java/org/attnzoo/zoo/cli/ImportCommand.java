package org.attnzoo.zoo.cli;

import org.attnzoo.zoo.hub.CachedFile;
import org.attnzoo.zoo.hub.ModelHub;
import org.attnzoo.zoo.hub.ResolvedModel;
import org.attnzoo.zoo.hub.WeightFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code attnzoo import MODEL[.TAG] FILE}: adds a weight file downloaded by hand (a browser, another
 * machine) to the cache under the model's tag, checked against the registry's sha256 where it has
 * one, so that {@code pull} and {@code run} then work offline.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Add a weight file you downloaded yourself to the cache under a model's tag (sha256-checked).")
final class ImportCommand extends HubCommand {
    @Parameters(index = "0", paramLabel = "MODEL[.TAG]")
    String ref;

    @Parameters(index = "1", paramLabel = "FILE", description = "The downloaded file.")
    Path file;

    @Option(names = "--as", paramLabel = "NAME",
            description = "Which of the tag's files this is (default: the tag's only file).")
    String as;


    @Override
    public Integer call() throws IOException {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such file (the weight file to import)");
        }
        ModelHub hub = hubOpts.hub(false);
        ResolvedModel m = hub.resolve(ref);
        String name = as;
        if (name == null) {
            var files = m.weights().files();
            if (files.size() != 1) {
                throw new IllegalArgumentException(m.tag() + " has " + files.size() + " files "
                        + files.stream().map(WeightFile::name).toList() + ": say which one FILE is with --as NAME");
            }
            name = files.get(0).name();
        }
        ZooCommands.printLicenseNotice(hub, ref, spec.commandLine().getErr());
        CachedFile c = hub.importFile(m.tag(), name, file);
        spec.commandLine().getOut().println("imported " + file + " as " + m.tag() + "/" + name + " (sha256 " + c.sha256() + ")");
        return 0;
    }
}
