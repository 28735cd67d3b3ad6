package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;

/**
 * The shipped Prometheus configuration and alert rules load in Prometheus's own checker. Needs
 * {@code promtool} (Debian package {@code prometheus}); without it the tests are skipped and say so.
 */
class PrometheusRulesTest {
    static final Path PROMETHEUS = Path.of("../ops/prometheus");

    @BeforeAll
    static void needsPromtool() {
        Assumptions.assumeTrue(onPath("promtool"), "promtool is not installed (apt-get install prometheus): "
                + "ops/prometheus is not checked by Prometheus here; MonitoringTest still checks its metric names");
    }

    @Test
    void alertRulesPassPromtoolCheckRules() throws Exception {
        Result r = run(PROMETHEUS, "promtool", "check", "rules", "alerts.yml");

        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("SUCCESS"), r.output());
    }

    /** Laid out as in a checkout after 'ops/run': the scrape's ca_file is ../../var/ca/ca.pem from ops/prometheus. */
    @Test
    void scrapeConfigPassesPromtoolCheckConfig(@TempDir Path root) throws Exception {
        Path dir = Files.createDirectories(root.resolve("ops/prometheus"));
        Files.copy(PROMETHEUS.resolve("prometheus.yml"), dir.resolve("prometheus.yml"));
        Files.copy(PROMETHEUS.resolve("alerts.yml"), dir.resolve("alerts.yml"));
        Files.createDirectories(root.resolve("var/ca"));
        Pem.write(root.resolve("var/ca/ca.pem"), DeviceMaker.create("Stand-in CA").caCertificate);

        Result r = run(dir, "promtool", "check", "config", "prometheus.yml");

        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("is valid prometheus config file"), r.output());
    }

    record Result(int exit, String output) {
    }

    private static Result run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        return new Result(p.exitValue(), out);
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
