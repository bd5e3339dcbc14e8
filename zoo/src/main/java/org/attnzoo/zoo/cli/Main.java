package org.attnzoo.zoo.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;

/** {@code bin/attnzoo}: build, convert, run and benchmark vision-attention models as ONNX. */
@Command(name = "attnzoo", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Build, convert, run and benchmark vision-attention models as ONNX.",
        subcommands = {ListCommand.class, InfoCommand.class, PullCommand.class,
                RunCommand.class, ConvertCommand.class, InferCommand.class, BenchCommand.class,
                VerifyCommand.class, CacheCommand.class, ImportCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams; returns the exit code (0 ok, 1 failure, 2 usage). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("attnzoo " + cmd.getCommandName() + ": error: " + oneLine(ex));
            if (System.getenv("ATTNZOO_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println("attnzoo: " + ex.getMessage());
            cmd.getErr().println("Try 'attnzoo " + (cmd.getParent() == null ? "" : cmd.getCommandName() + " ") + "--help'.");
            return 2;
        });
        return cl;
    }

    /** The exception's message as users should see it: one line per cause worth reading, no stack. */
    static String oneLine(Throwable ex) {
        String m = ex.getMessage();
        if (m == null || m.isBlank()) {
            m = ex.getClass().getSimpleName();
            if (ex.getCause() != null && ex.getCause().getMessage() != null) m += ": " + ex.getCause().getMessage();
        }
        return m;
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/org/attnzoo/zoo/version.properties")) {
                if (in != null) p.load(in);
            }
            return new String[]{"attnzoo " + p.getProperty("version", "dev") + " (ONNX opset 17, IR 8; "
                    + "ONNX Runtime " + ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion() + ")"};
        }
    }
}
