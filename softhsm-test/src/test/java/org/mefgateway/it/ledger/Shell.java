package org.mefgateway.it.ledger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.mefgateway.it.SoftHsm;

/** Runs openssl and friends as independent verifiers; returns stdout and stderr together. */
final class Shell {
    private Shell() {
    }

    record Result(int exitCode, String output) {
    }

    /** Where every run's command line and output are kept, for SecretsNotInOutputTest to search. */
    static final Path OUTPUTS = SoftHsm.TARGET.resolve("process-output");
    private static final AtomicInteger RUNS = new AtomicInteger();

    static Result run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // Kept even when the test passes (the test reads the output from memory and would drop it):
        // a CLI that printed a PIN must be caught, not only a test that failed and printed it.
        Files.createDirectories(OUTPUTS);
        Files.writeString(OUTPUTS.resolve("shell-" + ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet() + ".log"),
                "$ " + String.join(" ", command) + "\n" + out);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(command[0] + " did not finish: " + out);
        }
        return new Result(p.exitValue(), out);
    }

    /** A serial as openssl prints it: upper case, whole octets (BigInteger.toString(16) drops a leading zero nibble). */
    static String opensslHex(String hex) {
        return (hex.length() % 2 == 1 ? "0" + hex : hex).toUpperCase(java.util.Locale.ROOT);
    }

    /** Runs a command that must succeed. */
    static String ok(Path dir, String... command) throws IOException, InterruptedException {
        Result r = run(dir, command);
        if (r.exitCode() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + r.exitCode() + "): " + r.output());
        }
        return r.output();
    }
}
