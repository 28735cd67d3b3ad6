package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** How {@code mefgate} parses its command line, in this JVM: nothing here reaches a gateway or a token. */
class MefGateCliTest {
    record Run(int exit, String out, String err) {
    }

    static Run mefgate(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = new MefGate(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(args);
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Every command's name as the user types it: "serve", "admin revoke", ... (not picocli's help and generate-completion) */
    static List<List<String>> commands() {
        List<List<String>> all = new ArrayList<>();
        collect(new MefGate(System.out, System.err).commandLine(), List.of(), all);
        return all;
    }

    private static void collect(CommandLine command, List<String> path, List<List<String>> all) {
        for (var sub : command.getSubcommands().entrySet()) {
            if (sub.getValue().getCommandSpec().usageMessage().hidden() || sub.getKey().equals("help")) {
                continue;  // picocli's own: generate-completion (hidden) and help
            }
            List<String> name = new ArrayList<>(path);
            name.add(sub.getKey());
            all.add(name);
            collect(sub.getValue(), name, all);
        }
    }

    @Test
    void helpOnEveryCommandPrintsItsUsageAndExitsZeroWithoutRunningIt() {
        List<List<String>> commands = commands();
        assertTrue(commands.contains(List.of("admin", "revoke")) && commands.contains(List.of("token", "init-key")), commands.toString());
        for (List<String> command : commands) {
            for (String help : List.of("--help", "-h")) {
                List<String> args = new ArrayList<>(command);
                args.add(help);
                // A configuration that does not exist: had the command run, it would have failed reading it.
                args.addAll(List.of("--config", "/nonexistent/mefgate.yaml"));
                Run run = mefgate(args.toArray(String[]::new));
                String usage = "Usage: mefgate " + String.join(" ", command);
                assertEquals(0, run.exit(), args + ": " + run);
                assertTrue(run.out().startsWith(usage), args + ": " + run);
                assertEquals("", run.err(), args + ": " + run);
            }
        }
    }

    @Test
    void theConfigOptionIsUsedBeforeOrAfterTheCommand(@TempDir Path dir) {
        Path missing = dir.resolve("other.yaml");

        Run before = mefgate("--config", missing.toString(), "serve");
        Run after = mefgate("serve", "--config", missing.toString());
        Run nested = mefgate("admin", "list-enrolees", "--config", missing.toString());
        Run between = mefgate("admin", "--config", missing.toString(), "list-enrolees");

        for (Run run : List.of(before, after, nested, between)) {
            assertEquals(1, run.exit(), run.toString());
            assertEquals("mefgate: cannot read " + missing + ": " + missing, run.err().strip(), run.toString());
        }
    }

    @Test
    void anUnknownOptionIsRefusedWithOneLineAndTheCommandsUsage() {
        Run run = mefgate("serve", "--port", "8443");

        assertEquals(2, run.exit(), run.toString());
        List<String> lines = run.err().lines().toList();
        assertEquals("mefgate: unknown option \"--port\" for serve", lines.get(0), run.toString());
        assertTrue(lines.get(1).startsWith("Usage: mefgate serve "), run.toString());
        assertEquals("", run.out(), run.toString());
    }

    @Test
    void usageErrorsNameWhatIsWrongAndExitTwo() {
        assertEquals("mefgate: unknown command \"bogus\" for mefgate", firstErrorLine(mefgate("bogus"), 2));
        assertEquals("mefgate: unknown command \"bogus\" for admin", firstErrorLine(mefgate("admin", "bogus"), 2));
        assertEquals("mefgate: --type is required; --subject-id is required",
                firstErrorLine(mefgate("admin", "register-enrolee", "--id", "x"), 2));
        assertEquals("mefgate: SERIAL is required", firstErrorLine(mefgate("admin", "revoke"), 2));
        assertEquals("mefgate: --status given twice",
                firstErrorLine(mefgate("admin", "list-certs", "--status", "ISSUED", "--status", "REVOKED"), 2));
        assertEquals("mefgate: --config needs a value", firstErrorLine(mefgate("serve", "--config"), 2));
        assertTrue(firstErrorLine(mefgate("admin"), 2).startsWith("mefgate: admin needs a command: approve, instruct, "));
        assertEquals("mefgate: unexpected argument \"extra\" for serve", firstErrorLine(mefgate("serve", "extra"), 2));
    }

    /** The command lines the README and ops/run show parse as before: each gets as far as reading the configuration. */
    @Test
    void theDocumentedCommandLinesParse(@TempDir Path dir) {
        String missing = dir.resolve("absent.yaml").toString();
        List<List<String>> documented = List.of(
                List.of("init"),
                List.of("serve"),
                List.of("admin", "register-enrolee", "--id", "sensor-17", "--bootstrap-cert", "sensor-17.pem",
                        "--type", "AE-ID", "--subject-id", "//m2m.example.com/CSE3219/C9886", "--suids", "40,43"),
                List.of("admin", "register-enrolee", "--id", "s", "--bootstrap-fingerprint", "ab12", "--type", "Node-ID",
                        "--subject-id", "urn:x", "--profiles", "default,cse"),
                List.of("admin", "list-enrolees"),
                List.of("admin", "list-certs"),
                List.of("admin", "list-certs", "--enrolee", "sensor-17", "--status", "ISSUED", "--expires-before", "2027-01-31"),
                List.of("admin", "list-certs", "--status", "REVOKED", "--format", "csv", "--out", "revoked.csv"),
                List.of("admin", "revoke", "5f3a09c1d2e4", "--reason", "keyCompromise"),
                List.of("admin", "instruct", "--id", "sensor-17", "--profiles", "cse"),
                List.of("admin", "remove-enrolee", "--id", "sensor-17"),
                List.of("admin", "list-requests", "--status", "PENDING"),
                List.of("admin", "approve", "--request", "r1"),
                List.of("admin", "reject", "--request", "r1", "--reason", "not ours"),
                List.of("admin", "reload-policy"),
                List.of("admin", "show-policy"),
                List.of("policy", "check", "--profile", "cse", "device.csr.pem", "--type", "CSE-ID", "--subject-id",
                        "cse1.m2m.example.com", "--suids", "41"),
                List.of("policy", "check", "--profile", "ae", "device.csr.pem", "--enrolee", "sensor-17"),
                List.of("audit", "verify"),
                List.of("token", "list-keys"),
                List.of("token", "init-key", "--algorithm", "ec-p256", "--key", "issuing", "--subject", "CN=X", "--validity-days", "30",
                        "--out", "ca.pem"),
                List.of("token", "csr", "--out", "var/ca/ca.csr"),
                List.of("token", "import-cert", "--cert", "issued-chain.pem"),
                List.of("token", "renew-scep-ra", "--key", "default"));
        for (List<String> command : documented) {
            List<String> args = new ArrayList<>(List.of("--config", missing));
            args.addAll(command);
            Run run = mefgate(args.toArray(String[]::new));
            assertEquals(1, run.exit(), args + ": " + run);
            assertEquals("mefgate: cannot read " + missing + ": " + missing, run.err().strip(), args + ": " + run);
        }
    }

    @Test
    void noCommandPrintsTheUsageAsAUsageError() {
        Run run = mefgate();

        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.out().startsWith("Usage: mefgate [-h] [--config=FILE] [COMMAND]"), run.toString());
    }

    @Test
    void helpAndHelpCommandPrintTheSameUsage() {
        assertEquals(mefgate("--help").out(), mefgate("help").out());
        assertEquals(mefgate("admin", "--help").out(), mefgate("help", "admin").out());
    }

    private static String firstErrorLine(Run run, int exit) {
        assertEquals(exit, run.exit(), run.toString());
        return run.err().lines().findFirst().orElse("");
    }
}
