package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How {@code enrolee} parses its command line: nothing here reaches a MEF. */
class EnroleeCliTest {
    static CliRun enrolee(String... args) {
        return CliRun.run(Map.of(), Waiting.SYSTEM, args);
    }

    @Test
    void helpOnEveryCommandPrintsItsUsageAndExitsZeroWithoutRunningIt() {
        for (String command : List.of("enrol", "renew", "show")) {
            for (String help : List.of("--help", "-h")) {
                // Without a password in the environment: had the command run, it would have failed.
                CliRun run = enrolee(command, help);
                assertEquals(0, run.exitCode(), run.toString());
                assertTrue(run.stdout().startsWith("Usage: enrolee " + command + " "), run.toString());
                assertEquals("", run.stderr(), run.toString());
            }
        }
        CliRun top = enrolee("--help");
        assertEquals(0, top.exitCode(), top.toString());
        assertTrue(top.stdout().startsWith("Usage: enrolee [-h] [COMMAND]"), top.toString());
        assertTrue(top.stdout().contains("  7   renew: not due yet"), "the exit codes are part of the usage: " + top);
        assertEquals(top.stdout(), enrolee("help").stdout());
    }

    @Test
    void anUnknownOptionIsRefusedWithOneLineAndTheCommandsUsage() {
        CliRun run = enrolee("show", "x.p12", "--pasword-file", "p");

        assertEquals(2, run.exitCode(), run.toString());
        List<String> lines = run.stderr().lines().toList();
        assertEquals("enrolee: unknown option \"--pasword-file\" for show", lines.get(0), run.toString());
        assertTrue(lines.get(1).startsWith("Usage: enrolee show "), run.toString());
        assertEquals("", run.stdout(), run.toString());
    }

    @Test
    void usageErrorsNameWhatIsWrongAndExitTwo() {
        assertEquals("enrolee: no command given (enrolee --help shows the usage)", firstErrorLine(enrolee()));
        assertEquals("enrolee: unknown command \"enroll\" for enrolee", firstErrorLine(enrolee("enroll")));
        assertEquals("enrolee: --in is required; --mef is required", firstErrorLine(enrolee("renew")));
        assertEquals("enrolee: OUT.p12 is required", firstErrorLine(enrolee("show")));
        assertEquals("enrolee: --mef needs a value", firstErrorLine(enrolee("renew", "--in", "a.p12", "--mef")));
        assertEquals("enrolee: --force given twice",
                firstErrorLine(enrolee("renew", "--in", "a.p12", "--mef", "https://m", "--force", "--force")));
        assertEquals("enrolee: --wait needs a whole number from 0 to 10^9, got \"soon\" (enrolee --help shows the usage)",
                firstErrorLine(enrolee("renew", "--in", "a.p12", "--mef", "https://m", "--wait", "soon")));
    }

    private static String firstErrorLine(CliRun run) {
        assertEquals(2, run.exitCode(), run.toString());
        return run.stderr().lines().findFirst().orElse("");
    }
}
