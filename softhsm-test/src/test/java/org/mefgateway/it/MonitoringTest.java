package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.store.StoredCrl;
import org.mefgateway.policy.Oids;
import org.yaml.snakeyaml.Yaml;

/**
 * What Prometheus scrapes from a real gateway after one real enrolment, and that every metric the
 * shipped alert rules (ops/prometheus/alerts.yml) and Grafana dashboard (ops/grafana) query is in it.
 */
class MonitoringTest {
    static final Path ALERTS = Path.of("../ops/prometheus/alerts.yml");
    static final Path DASHBOARD = Path.of("../ops/grafana/mef-gateway.json");
    static final String AE_ID = "//m2m.example.com/CSE3219/C-MON";
    /**
     * Counters hsm-adapter registers at the first event, because a label comes with it (the CKR
     * code of an error, the reason of a rejection): a healthy gateway has none yet.
     */
    static final Set<String> REGISTERED_AT_FIRST_EVENT = Set.of("mef_hsm_errors_total", "mef_hsm_rejected_total");
    /** A metric name in PromQL: our prefixes (the rules query nothing else, apart from Prometheus's own 'up'). */
    static final Pattern METRIC = Pattern.compile("\\b((?:mef|jvm|vertx|process|system|hikaricp)_[a-z0-9_]+)\\b");

    static DeviceMaker maker;
    static TestGateway mef;
    static String scrapeAfterOneEnrolment;

    @BeforeAll
    static void startAndEnrolOnce() throws Exception {
        maker = DeviceMaker.create("Monitoring Maker CA");
        mef = TestGateway.start(maker);
        DeviceMaker.Device device = maker.device("monitored-device");
        mef.register(device, "ae-mon", "AE-ID", AE_ID, 40);
        HttpClient client = mef.client(device);
        HttpResponse<String> attrs = TestGateway.get(client, mef.est("/csrattrs"));
        assertEquals(200, attrs.statusCode(), attrs.body());
        HttpResponse<String> enrolled = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10",
                csr(TestCsr.challengeFrom(attrs.body())));
        assertEquals(200, enrolled.statusCode(), enrolled.body());
        scrapeAfterOneEnrolment = scrape();
        // For whoever writes rules or panels: what a scrape looks like.
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/metrics-after-one-enrolment.txt"), scrapeAfterOneEnrolment);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    static String csr(String challenge) throws Exception {
        return TestCsr.p256().subject("CN=" + AE_ID).challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64();
    }

    static String scrape() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + "/metrics"));
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    /** One sample of the text format: name, labels, value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)$");
    static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    static List<Sample> samples(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (line.startsWith("#") || !m.matches()) {
                continue;
            }
            Map<String, String> labels = new TreeMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(3))));
        }
        return out;
    }

    /** The value of the one sample with this name and exactly these labels. */
    static double value(String text, String name, Map<String, String> labels) {
        List<Sample> found = samples(text).stream().filter(s -> s.name().equals(name) && s.labels().equals(new TreeMap<>(labels))).toList();
        assertEquals(1, found.size(), name + labels + " in\n" + grep(text, name));
        return found.get(0).value();
    }

    static double valueOr0(String text, String name, Map<String, String> labels) {
        return samples(text).stream().filter(s -> s.name().equals(name) && s.labels().equals(new TreeMap<>(labels)))
                .mapToDouble(Sample::value).findFirst().orElse(0);
    }

    static String grep(String text, String name) {
        return String.join("\n", text.lines().filter(l -> l.contains(name)).toList());
    }

    static Set<String> names(String text) {
        Set<String> names = new TreeSet<>();
        samples(text).forEach(s -> names.add(s.name()));
        return names;
    }

    @Test
    void oneEnrolmentIsCountedAsRequestsLatencyIssuanceChallengeAndSignature() {
        String s = scrapeAfterOneEnrolment;
        assertEquals(1.0, value(s, "mef_est_requests_total", Map.of("operation", "simpleenroll", "label", "", "status", "200")));
        assertEquals(1.0, value(s, "mef_est_requests_total", Map.of("operation", "csrattrs", "label", "", "status", "200")));
        assertEquals(1.0, value(s, "mef_est_request_seconds_count", Map.of("operation", "simpleenroll", "label", "", "outcome", "success")));
        // Buckets for histogram_quantile: cumulative, ending with +Inf holding every request.
        assertEquals(1.0, value(s, "mef_est_request_seconds_bucket",
                Map.of("operation", "simpleenroll", "label", "", "outcome", "success", "le", "+Inf")));
        assertTrue(samples(s).stream().filter(x -> x.name().equals("mef_est_request_seconds_bucket")
                && "simpleenroll".equals(x.labels().get("operation"))).count() > 10, grep(s, "mef_est_request_seconds_bucket"));
        assertEquals(1.0, value(s, "mef_certificates_issued_total", Map.of("profile", "default", "operation", "simpleenroll")));
        assertEquals(1.0, value(s, "mef_policy_decisions_total", Map.of("profile", "default", "result", "issue", "rule", "none")));
        assertEquals(1.0, value(s, "mef_challenges_issued_total", Map.of()));
        assertEquals(1.0, value(s, "mef_challenges_consumed_total", Map.of()));
        assertEquals(0.0, value(s, "mef_challenges_expired_total", Map.of()));
        assertTrue(value(s, "mef_store_commit_seconds_count", Map.of()) >= 1, grep(s, "mef_store_commit"));
        // hsm-adapter's signer, in the same registry: the circuit closed, the enrolment's signature timed.
        assertEquals(0.0, value(s, "mef_hsm_circuit_state", Map.of("key", "default", "token", "mef-test")));
        assertTrue(value(s, "mef_hsm_sign_seconds_count", Map.of("key", "default", "token", "mef-test")) >= 1, grep(s, "mef_hsm_sign"));
    }

    @Test
    void caCertificateExpiryAndCrlTimesPerKeyAreGaugesInEpochSecondsWithNoRevocationPending() {
        String s = scrapeAfterOneEnrolment;
        Map<String, String> key = Map.of("key", "default");
        assertEquals(mef.caCertificate.getNotAfter().getTime() / 1000, (long) value(s, "mef_ca_certificate_not_after_seconds", key));
        StoredCrl crl = mef.gateway.store().latestCrl("default").orElseThrow();
        assertEquals(crl.nextUpdate().getEpochSecond(), (long) value(s, "mef_crl_next_update_seconds", key));
        assertEquals(crl.thisUpdate().getEpochSecond(), (long) value(s, "mef_crl_this_update_seconds", key));
        assertEquals(0.0, value(s, "mef_crl_revocations_pending", key));
        // The OCSP responder certificate issued at start, for OcspResponderTest's renewal: 7 days.
        double responderNotAfter = value(s, "mef_ocsp_responder_certificate_not_after_seconds", key);
        assertTrue(responderNotAfter > java.time.Instant.now().plus(Duration.ofDays(6)).getEpochSecond(), grep(s, "mef_ocsp_responder"));
        assertEquals(0.0, value(s, "mef_ocsp_responses_total", Map.of("answer", "good")));
        assertEquals(0.0, value(s, "mef_hsm_circuit_state", Map.of("key", "default/ocsp", "token", "mef-test")), "the responder key's signer");
    }

    @Test
    void vertxHttpServerMetersAreInTheSameRegistryWithoutPathLabels() {
        List<Sample> vertx = samples(scrapeAfterOneEnrolment).stream().filter(x -> x.name().startsWith("vertx_http_server_")).toList();
        assertFalse(vertx.isEmpty(), "Vert.x HTTP server meters in /metrics");
        for (Sample x : vertx) {
            assertFalse(x.labels().containsKey("path") || x.labels().containsKey("route"), "no per-path label: " + x);
        }
    }

    @Test
    void anExpiredChallengeIsCountedAndMadeUpLabelsDoNotBecomeSeries() throws Exception {
        DeviceMaker.Device device = maker.device("late-device");
        mef.register(device, "ae-late", "AE-ID", AE_ID, 40);
        HttpClient client = mef.client(device);
        String challenge = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
        String before = scrape();
        mef.clock.advance(Duration.ofSeconds(301));

        HttpResponse<String> late = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr(challenge));
        HttpResponse<String> madeUp = TestGateway.get(client, mef.est("/device-4711-made-up/cacerts"));
        String after = scrape();

        assertEquals(403, late.statusCode(), late.body());
        assertEquals(404, madeUp.statusCode(), madeUp.body());
        assertEquals(valueOr0(before, "mef_challenges_expired_total", Map.of()) + 1, value(after, "mef_challenges_expired_total", Map.of()));
        assertEquals(valueOr0(before, "mef_policy_decisions_total", Map.of("profile", "default", "result", "deny", "rule", "challenge.unexpired")) + 1,
                value(after, "mef_policy_decisions_total", Map.of("profile", "default", "result", "deny", "rule", "challenge.unexpired")));
        Map<String, String> refused = Map.of("operation", "simpleenroll", "label", "", "status", "403");
        assertEquals(valueOr0(before, "mef_est_requests_total", refused) + 1, value(after, "mef_est_requests_total", refused));
        Map<String, String> unknown = Map.of("operation", "cacerts", "label", "unknown", "status", "404");
        assertEquals(valueOr0(before, "mef_est_requests_total", unknown) + 1, value(after, "mef_est_requests_total", unknown));
        assertFalse(after.contains("device-4711-made-up"), "a label no profile serves never becomes a label value");
    }

    @Test
    void aClientThatLeavesBeforeTheResponseIsCountedAsAnErrorWithoutStatus() throws Exception {
        Map<String, String> abandoned = Map.of("operation", "simpleenroll", "label", "", "status", "none");
        double before = valueOr0(scrape(), "mef_est_requests_total", abandoned);
        // A registered Enrolee's client certificate: an anonymous one is answered 401 before its body is read.
        DeviceMaker.Device device = maker.device("leaving-device");
        mef.register(device, "ae-mon-leaving", "AE-ID", AE_ID + "-LEAVING", 40);
        // Headers announcing a body that never comes, then the connection is gone.
        try (RawHttps connection = RawHttps.connect(mef, device)) {
            connection.send("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/pkcs10\r\nContent-Length: 1000\r\n\r\nMIIB");
        }

        // Recorded when the gateway notices the closed connection: poll the scrape for it.
        String after = scrape();
        for (int i = 0; i < 100 && valueOr0(after, "mef_est_requests_total", abandoned) == before; i++) {
            Thread.sleep(100);
            after = scrape();
        }
        assertEquals(before + 1, value(after, "mef_est_requests_total", abandoned));
        assertTrue(value(after, "mef_est_request_seconds_count", Map.of("operation", "simpleenroll", "label", "", "outcome", "error")) >= 1);
    }

    @Test
    void everyMetricTheAlertRulesQueryIsScraped() throws Exception {
        List<String> exprs = new ArrayList<>();
        Map<String, Object> rules = new Yaml().load(Files.readString(ALERTS));
        for (Object group : (List<?>) rules.get("groups")) {
            for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
                exprs.add(String.valueOf(((Map<?, ?>) rule).get("expr")));
            }
        }
        assertTrue(exprs.size() >= 6, "alert rules: " + exprs);
        assertAllScraped("alerts.yml", exprs);
    }

    @Test
    void theDashboardIsGrafanaJsonWithAPrometheusInputAndEveryQueriedMetricIsScraped() throws Exception {
        JsonObject dashboard = new JsonObject(Files.readString(DASHBOARD));
        JsonArray inputs = dashboard.getJsonArray("__inputs");
        assertEquals("DS_PROMETHEUS", inputs.getJsonObject(0).getString("name"));
        assertEquals("prometheus", inputs.getJsonObject(0).getString("pluginId"));
        assertTrue(dashboard.getInteger("schemaVersion") > 30, "current Grafana schema");
        List<String> exprs = new ArrayList<>();
        Set<String> titles = new TreeSet<>();
        for (Object p : dashboard.getJsonArray("panels")) {
            JsonObject panel = (JsonObject) p;
            titles.add(panel.getString("title"));
            if ("row".equals(panel.getString("type"))) {
                continue;
            }
            assertEquals("${DS_PROMETHEUS}", panel.getJsonObject("datasource").getString("uid"), panel.getString("title"));
            for (Object t : panel.getJsonArray("targets")) {
                exprs.add(((JsonObject) t).getString("expr"));
            }
        }
        assertTrue(exprs.size() >= 10, "panels' queries: " + exprs);
        assertAllScraped("mef-gateway.json (panels " + titles + ")", exprs);
    }

    /** Prometheus's own linter (promtool check metrics) finds nothing to say about the mef_ meters (JVM binders' names are Micrometer's). */
    @Test
    void promtoolLintsTheMefMetersClean() throws Exception {
        PrometheusRulesTest.requireOnPath("promtool");
        Process p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(scrapeAfterOneEnrolment.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String lint = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        List<String> ours = lint.lines().filter(l -> l.startsWith("mef_")).toList();
        assertTrue(ours.isEmpty(), "promtool check metrics: " + ours);
        assertFalse(lint.contains("error"), lint);
    }

    /** Every metric named in {@code exprs} is in the scrape (but for counters that only exist after their first event). */
    private static void assertAllScraped(String source, List<String> exprs) {
        Set<String> scraped = names(scrapeAfterOneEnrolment);
        Set<String> missing = new TreeSet<>();
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\""));
            while (m.find()) {
                if (!scraped.contains(m.group(1)) && !REGISTERED_AT_FIRST_EVENT.contains(m.group(1))) {
                    missing.add(m.group(1));
                }
            }
        }
        assertTrue(missing.isEmpty(), source + " queries metrics the gateway does not export: " + missing);
    }
}
