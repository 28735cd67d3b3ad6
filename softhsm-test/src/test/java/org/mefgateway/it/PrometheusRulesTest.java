package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;

/**
 * The shipped Prometheus configuration and alert rules load in Prometheus's own checker, and a
 * real Prometheus server scrapes a real gateway with them. Needs {@code promtool} and
 * {@code prometheus} (Debian package {@code prometheus}, which ops/test installs); without them the
 * tests fail: a missing tool is a machine not set up as the project requires, not a reason to skip.
 */
class PrometheusRulesTest {
    static final Path PROMETHEUS = Path.of("../ops/prometheus");

    @Test
    void alertRulesPassPromtoolCheckRules() throws Exception {
        requireOnPath("promtool");
        Result r = run(PROMETHEUS, "promtool", "check", "rules", "alerts.yml");

        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("SUCCESS"), r.output());
    }

    /**
     * promtool's unit tests of the alert rules (alerts-test.yml): MefEstErrorRatioHigh fires for a
     * 5xx ratio over 5% on any one listener (publication, admin), judged per listener.
     */
    @Test
    void alertRulesPassTheirPromtoolUnitTests() throws Exception {
        requireOnPath("promtool");
        Result r = run(PROMETHEUS, "promtool", "test", "rules", "alerts-test.yml");

        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("SUCCESS"), r.output());
    }

    /** Laid out as in a checkout after 'ops/run': the scrape's ca_file is ../../var/ca/ca.pem from ops/prometheus. */
    @Test
    void scrapeConfigPassesPromtoolCheckConfig(@TempDir Path root) throws Exception {
        requireOnPath("promtool");
        Path dir = Files.createDirectories(root.resolve("ops/prometheus"));
        Files.copy(PROMETHEUS.resolve("prometheus.yml"), dir.resolve("prometheus.yml"));
        Files.copy(PROMETHEUS.resolve("alerts.yml"), dir.resolve("alerts.yml"));
        Files.createDirectories(root.resolve("var/ca"));
        Pem.write(root.resolve("var/ca/ca.pem"), DeviceMaker.create("Stand-in CA").caCertificate);

        Result r = run(dir, "promtool", "check", "config", "prometheus.yml");

        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("is valid prometheus config file"), r.output());
    }

    /**
     * Debian's Prometheus, with the shipped prometheus.yml (only the target port and the intervals
     * changed) and alerts.yml, scrapes a running gateway over TLS verified against the gateway's CA:
     * the target is up, a gateway metric is queryable, and every alert rule has been evaluated
     * without error.
     */
    @Test
    void aRealPrometheusScrapesAGatewayAndEvaluatesEveryAlertRule(@TempDir Path root) throws Exception {
        requireOnPath("prometheus");
        int rules = (int) Files.readString(PROMETHEUS.resolve("alerts.yml")).lines().filter(l -> l.trim().startsWith("- alert:")).count();
        try (TestGateway mef = TestGateway.start(DeviceMaker.create("Scrape Maker CA"))) {
            Path dir = Files.createDirectories(root.resolve("ops/prometheus"));
            String config = Files.readString(PROMETHEUS.resolve("prometheus.yml"));
            String scraped = config.replace("'127.0.0.1:9443'", "'127.0.0.1:" + mef.gateway.adminPort() + "'")
                    .replace("scrape_interval: 15s", "scrape_interval: 1s").replace("evaluation_interval: 15s", "evaluation_interval: 1s");
            assertTrue(!scraped.equals(config) && scraped.contains(":" + mef.gateway.adminPort()), "the shipped file has the fields this test edits");
            Files.writeString(dir.resolve("prometheus.yml"), scraped);
            Files.copy(PROMETHEUS.resolve("alerts.yml"), dir.resolve("alerts.yml"));
            Files.createDirectories(root.resolve("var/ca"));
            Pem.write(root.resolve("var/ca/ca.pem"), mef.caCertificate);

            int port;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Process prometheus = new ProcessBuilder("prometheus", "--config.file=prometheus.yml",
                    "--storage.tsdb.path=" + root.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port)
                    .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(root.resolve("prometheus.log").toFile()).start();
            try {
                java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
                java.util.function.Function<String, String> api = path -> {
                    try {
                        return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
                                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                    } catch (Exception e) {
                        return "";
                    }
                };
                String targets = "";
                String rulesState = "";
                String query = "";
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < deadline) {
                    targets = api.apply("/api/v1/targets");
                    rulesState = api.apply("/api/v1/rules");
                    query = api.apply("/api/v1/query?query=mef_ca_certificate_not_after_seconds");
                    boolean evaluated = count(rulesState, "\"health\":\"ok\"") == rules;
                    if (targets.contains("\"health\":\"up\"") && evaluated && query.contains("\"__name__\":\"mef_ca_certificate_not_after_seconds\"")) {
                        break;
                    }
                    Thread.sleep(500);
                }
                String log = Files.readString(root.resolve("prometheus.log"));
                assertTrue(targets.contains("\"health\":\"up\"") && targets.contains("\"lastError\":\"\""),
                        "the gateway's /metrics is scraped over verified TLS: " + targets + "\n" + log);
                assertTrue(query.contains("\"__name__\":\"mef_ca_certificate_not_after_seconds\""), "a gateway metric is queryable: " + query);
                assertEquals(rules, count(rulesState, "\"type\":\"alerting\""), "every rule of alerts.yml is loaded: " + rulesState);
                assertEquals(rules, count(rulesState, "\"health\":\"ok\""), "every rule evaluated without error: " + rulesState);
            } finally {
                prometheus.destroy();
                prometheus.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    record Result(int exit, String output) {
    }

    private static Result run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        return new Result(p.exitValue(), out);
    }

    /** Fails, naming the Debian package, unless {@code program} (promtool or prometheus) is on PATH. */
    static void requireOnPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return;
            }
        }
        fail(program + " is not on PATH: install the Debian package prometheus (apt-get install prometheus; ops/test installs it)");
    }
}
