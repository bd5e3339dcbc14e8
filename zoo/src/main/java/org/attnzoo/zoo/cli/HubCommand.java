package org.attnzoo.zoo.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * The shared base of the subcommands that use the model hub (list, info, pull, run, import, verify,
 * cache): the hub options ({@code --offline}, {@code --home}) and the command's own output streams.
 */
abstract class HubCommand implements Callable<Integer> {
    @Mixin
    ZooCommands.HubOptions hubOpts;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }
}
