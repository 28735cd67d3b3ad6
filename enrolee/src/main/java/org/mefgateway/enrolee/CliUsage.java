package org.mefgateway.enrolee;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.BiFunction;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * (The same rules as the gateway's org.mefgateway.gateway.CliUsage: the two modules share no code.)
 * How {@code enrolee} answers a command line it cannot parse: one line "enrolee: what is wrong",
 * then the usage of the command it was meant for, on stderr, and exit code 2. The line names the
 * offending argument the same way for every command, in the words the CLI has always used.
 */
final class CliUsage {
    /** Help lines are this wide whatever the terminal, so that docs/cli.md is the same everywhere. */
    static final int WIDTH = 100;
    static final int EXIT_USAGE = 2;

    private CliUsage() {
    }

    /** Writes to {@code out} and {@code err}; an exception out of a command is answered by {@code failed}. */
    static CommandLine configure(CommandLine commandLine, PrintStream out, PrintStream err,
                                 BiFunction<Exception, CommandLine, Integer> failed) {
        String prefix = commandLine.getCommandName() + ": ";
        addHelp(commandLine);
        return commandLine.setUsageHelpWidth(WIDTH)
                // An argument is what it says: "@name" is not the name of a file of more arguments.
                .setExpandAtFiles(false)
                .setOut(new PrintWriter(out, true, StandardCharsets.UTF_8))
                .setErr(new PrintWriter(err, true, StandardCharsets.UTF_8))
                .setParameterExceptionHandler((e, args) -> {
                    e.getCommandLine().getErr().println(prefix + message(e));
                    e.getCommandLine().usage(e.getCommandLine().getErr());
                    return EXIT_USAGE;
                })
                .setExecutionExceptionHandler((e, failedCommand, parseResult) -> failed.apply(e, failedCommand));
    }

    /** -h and --help on every command (picocli's own help and generate-completion have theirs). */
    private static void addHelp(CommandLine command) {
        if (command.getCommandSpec().findOption("--help") == null) {
            command.getCommandSpec().addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                    .description("print this help and exit").build());
        }
        command.getSubcommands().values().forEach(CliUsage::addHelp);
    }

    static String message(ParameterException e) {
        CommandLine command = e.getCommandLine();
        String name = command.getCommandSpec().qualifiedName(" ");
        name = name.contains(" ") ? name.substring(name.indexOf(' ') + 1) : name;
        if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String first = unmatched.getUnmatched().get(0);
            if (first.startsWith("-")) {
                return "unknown option \"" + first + "\" for " + name;
            }
            return command.getSubcommands().isEmpty() ? "unexpected argument \"" + first + "\" for " + name
                    : "unknown command \"" + first + "\" for " + name;
        }
        if (e instanceof CommandLine.MissingParameterException missing) {
            if (e.getMessage().startsWith("Missing required parameter for option")) {
                // the option was given, its value was not
                return label(missing.getMissing().get(0)) + " needs a value";
            }
            return missing.getMissing().stream().map(CliUsage::label).map(l -> l + " is required")
                    .collect(Collectors.joining("; "));
        }
        if (e instanceof CommandLine.OverwrittenOptionException overwritten) {
            return label(overwritten.getOverwritten()) + " given twice";
        }
        if (!command.getSubcommands().isEmpty() && e.getMessage().startsWith("Missing required subcommand")) {
            List<String> commands = command.getSubcommands().entrySet().stream()
                    .filter(c -> !c.getValue().getCommandSpec().usageMessage().hidden()).map(java.util.Map.Entry::getKey).toList();
            return name + " needs a command: " + String.join(", ", commands);
        }
        return e.getMessage();
    }

    private static String label(ArgSpec arg) {
        return arg instanceof OptionSpec option ? option.longestName() : arg.paramLabel();
    }
}
