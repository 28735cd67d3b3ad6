package org.mefgateway.it.ledger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs openssl and friends as independent verifiers; returns stdout and stderr together. */
final class Shell {
    private Shell() {
    }

    record Result(int exitCode, String output) {
    }

    static Result run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
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
