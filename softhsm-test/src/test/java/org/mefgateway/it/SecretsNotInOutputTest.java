package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Every token PIN and database password the other tests handed to a gateway ({@link
 * SoftHsm#SECRETS}) is absent from everything the test run wrote: each module's surefire reports
 * and the stdout/stderr of every test class (surefire writes them to {@code *-output.txt}), where
 * the gateways' logs, exceptions and audit details end up. It runs in its own surefire execution
 * after all other tests of this module, and the reactor builds this module last, so every other
 * module's reports are there. A failure names the file, never the secret.
 */
class SecretsNotInOutputTest {
    @Test
    void noSecretOfTheTestRunAppearsInAnyOutputOfIt() throws IOException {
        Assumptions.assumeTrue(Files.exists(SoftHsm.SECRETS), "no test recorded a secret in " + SoftHsm.SECRETS);
        List<String> secrets = Files.readAllLines(SoftHsm.SECRETS).stream().filter(s -> !s.isBlank()).distinct().toList();
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<Path> outputs = new ArrayList<>();
        try (Stream<Path> modules = Files.list(root)) {
            for (Path module : modules.filter(Files::isDirectory).toList()) {
                Path reports = module.resolve("target/surefire-reports");
                if (Files.isDirectory(reports)) {
                    try (Stream<Path> files = Files.list(reports)) {
                        files.filter(f -> !f.getFileName().toString().contains(SecretsNotInOutputTest.class.getSimpleName()))
                                .filter(f -> f.toString().endsWith(".txt") || f.toString().endsWith(".xml"))
                                .forEach(outputs::add);
                    }
                }
            }
        }
        long logs = outputs.stream().filter(f -> f.toString().endsWith("-output.txt")).count();
        assertTrue(logs > 0, "surefire wrote the tests' stdout/stderr to *-output.txt files (redirectTestOutputToFile)");
        List<String> leaks = new ArrayList<>();
        for (Path f : outputs) {
            String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
            for (int i = 0; i < secrets.size(); i++) {
                if (text.contains(secrets.get(i))) {
                    leaks.add(root.relativize(f) + " contains secret #" + (i + 1) + " of " + SoftHsm.SECRETS);
                }
            }
        }
        System.out.println("searched " + outputs.size() + " report and output files (" + logs + " test logs) for "
                + secrets.size() + " secrets: " + leaks.size() + " found");
        assertTrue(leaks.isEmpty(), String.join("\n", leaks));
    }
}
