package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.it.hostile.HostileCorpus;
import org.mefgateway.policy.Oids;

/**
 * The hostile-input corpus ({@code src/test/resources/hostile/}, made by its {@code generate}
 * script) and the hostile HTTP that no file can hold (10 MB bodies, slow-loris, smuggling, wrong
 * methods and types, replayed and expired challenges), sent to a real gateway. For every case:
 * exactly the status of the README's hostile-input table (and for a corpus case the rule that
 * refuses it) with a text/plain reason, or, where the table says so, a closed connection; never a
 * 5xx, nothing issued, the refusal audited when it concerns an authenticated Enrolee, and the
 * gateway still enrols afterwards.
 *
 * <p>The corpus goes to the label {@code hostile}, whose profile does not require a challenge, so
 * that each CSR is judged on what is wrong with it rather than on its (static) challenge;
 * serverkeygen gets it on the default label, where the MEF's own key would otherwise make a
 * key-only defect irrelevant.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputTest {
    static final String AE_ID = HostileCorpus.AE_ID;
    static final Path CORPUS = Path.of("src/test/resources/hostile");

    static DeviceMaker maker;
    static TestGateway mef;
    static DeviceMaker.Device device;
    static HttpClient deviceClient;
    static HttpClient renewer;
    static HttpClient anonymous;
    static int issuedBaseline;
    /** case -> endpoint -> status, printed at the end (the README's table comes from it). */
    static final Map<String, Map<String, Integer>> OBSERVED = new LinkedHashMap<>();

    /**
     * The README's hostile-input table for the corpus, one row per file: the status on
     * simpleenroll, serverkeygen and simplereenroll (anonymously it is always 401), and the rule
     * each of the three names in its refusal. simpleenroll goes to the label {@code hostile}
     * (no challenge required), so the rule there is the case's own defect. serverkeygen (label
     * {@code default}) and simplereenroll (decided by the renewer's issuing profile, {@code
     * default}) require a challenge, which no corpus CSR carries: there a defect is named only when
     * its rule runs before {@code challenge.present} (PolicyEngine.RULES: signature, signature
     * algorithm, key type; on serverkeygen the key is the MEF's, so not key type), or when the CSR
     * carries a challenge ({@code challenge.known}); every other 403 case is refused there by
     * {@code challenge.present}.
     */
    static final String CORPUS_TABLE = """
            asn1-huge-integer                     400  csr.malformed                csr.malformed             csr.malformed
            asn1-nested-10000-sequences           400  csr.malformed                csr.malformed             csr.malformed
            base64-broken                         400  body.base64                  body.base64               body.base64
            base64-non-ascii                      400  body.base64                  body.base64               body.base64
            base64-nul-bytes                      400  body.base64                  body.base64               body.base64
            base64-pem-armour                     400  body.base64                  body.base64               body.base64
            base64-truncated-odd                  400  body.base64                  body.base64               body.base64
            base64-url-alphabet                   400  body.base64                  body.base64               body.base64
            csr-ca-true                           403  extensions.no-ca             challenge.present         challenge.present
            csr-challenge-integer                 400  csr.malformed                csr.malformed             csr.malformed
            csr-challenge-octet-string            400  csr.malformed                csr.malformed             csr.malformed
            csr-challenge-too-long                403  challenge.known              challenge.known           challenge.known
            csr-challenge-two-attributes          400  csr.malformed                csr.malformed             csr.malformed
            csr-challenge-two-values              400  csr.malformed                csr.malformed             csr.malformed
            csr-conflicting-basic-constraints     400  csr.malformed                csr.malformed             csr.malformed
            csr-duplicate-san-extension           400  csr.malformed                csr.malformed             csr.malformed
            csr-ec-compressed-point               400  csr.signature                csr.signature             csr.signature
            csr-keyusage-keycertsign              403  extensions.no-ca             challenge.present         challenge.present
            csr-rsa-1024                          403  csr.signature-algorithm      csr.signature-algorithm   csr.signature-algorithm
            csr-rsa-512                           403  csr.signature-algorithm      csr.signature-algorithm   csr.signature-algorithm
            csr-san-dns-nul-byte                  403  san.count                    challenge.present         challenge.present
            csr-san-idn-homoglyph-utf8            403  san.registered-identity      challenge.present         challenge.present
            csr-san-idn-punycode                  403  san.registered-identity      challenge.present         challenge.present
            csr-san-not-generalnames              400  csr.malformed                csr.malformed             csr.malformed
            csr-san-overlong-uri                  403  san.count                    challenge.present         challenge.present
            csr-san-registered-plus-nul-suffix    403  san.count                    challenge.present         challenge.present
            csr-san-uri-nul-byte                  403  san.registered-identity      challenge.present         challenge.present
            csr-signature-does-not-verify         400  csr.signature                csr.signature             csr.signature
            csr-signature-sha1                    403  csr.signature-algorithm      csr.signature-algorithm   csr.signature-algorithm
            csr-subject-cn-homoglyph              403  subject.identity             challenge.present         challenge.present
            csr-subject-control-characters        403  subject.identity             challenge.present         challenge.present
            csr-subject-overlong-cn               403  subject.identity             challenge.present         challenge.present
            csr-two-extension-requests            400  csr.malformed                csr.malformed             csr.malformed
            csr-unknown-critical-extension        403  extensions.unknown-critical  challenge.present         challenge.present
            der-indefinite-length                 400  csr.malformed                csr.malformed             csr.malformed
            der-length-overflow                   400  csr.malformed                csr.malformed             csr.malformed
            der-length-too-long                   400  csr.malformed                csr.malformed             csr.malformed
            der-length-too-short                  400  csr.malformed                csr.malformed             csr.malformed
            der-not-a-csr                         400  csr.malformed                csr.malformed             csr.malformed
            der-trailing-garbage                  400  csr.malformed                csr.malformed             csr.malformed
            der-truncated                         400  csr.malformed                csr.malformed             csr.malformed
            openssl-ca-true-keycertsign           403  extensions.no-ca             challenge.present         challenge.present
            openssl-ec-brainpoolP256r1            403  key.type                     challenge.present         key.type
            openssl-ec-p256-explicit-parameters   403  key.type                     challenge.present         key.type
            openssl-ec-secp256k1                  403  key.type                     challenge.present         key.type
            openssl-rsa-1024                      403  csr.signature-algorithm      csr.signature-algorithm   csr.signature-algorithm
            """;

    /** Where each corpus request goes, in the column order of {@link #CORPUS_TABLE}. */
    static final List<String> BOOTSTRAP_ENDPOINTS = List.of("simpleenroll", "serverkeygen", "simplereenroll");

    /** What one request must get: the status and, for a refusal by policy, the rule and the profile that name it. */
    record Expected(int status, String rule, String profile) {
    }

    /** The expected answer per case and endpoint, from {@link #CORPUS_TABLE}. */
    static Map<String, Map<String, Expected>> corpusTable() {
        Map<String, Map<String, Expected>> table = new LinkedHashMap<>();
        for (String line : CORPUS_TABLE.strip().split("\n")) {
            String[] f = line.strip().split("\\s+");
            assertEquals(5, f.length, "a row of the corpus table: " + line);
            int status = Integer.parseInt(f[1]);
            Map<String, Expected> row = new LinkedHashMap<>();
            row.put("simpleenroll", new Expected(status, f[2], "hostile"));
            row.put("serverkeygen", new Expected(status, f[3], "default"));
            row.put("simplereenroll", new Expected(status, f[4], "default"));
            row.put("anonymous", new Expected(401, null, null));
            table.put(f[0], row);
        }
        return table;
    }

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Hostile Maker CA");
        mef = TestGateway.startWithEst("requestTimeoutSeconds: 3, rateLimit: {perClientPerSecond: 0}", Map.of(
                "default.yaml", TestGateway.DEFAULT_PROFILE,
                "hostile.yaml", "validity: {days: 7}\nchallenge: {required: false}\n"), maker);
        device = maker.device("hostile-device");
        mef.register(device, "ae-hostile", "AE-ID", AE_ID, 40);
        deviceClient = mef.client(device);
        anonymous = mef.client(null);
        renewer = renewingClient();
        issuedBaseline = mef.issued().size();
    }

    @AfterAll
    static void stop() {
        StringBuilder table = new StringBuilder("hostile corpus: observed status per endpoint\n");
        OBSERVED.forEach((c, byEndpoint) -> table.append(String.format("%-42s %s%n", c, byEndpoint)));
        System.out.println(table);
        mef.close();
    }

    /** A second Enrolee with an issued certificate, for simplereenroll. */
    private static HttpClient renewingClient() throws Exception {
        DeviceMaker.Device d = maker.device("hostile-renewer");
        mef.register(d, "ae-hostile-renewer", "AE-ID", AE_ID, 40);
        HttpClient bootstrap = mef.client(d);
        String challenge = TestCsr.challengeFrom(TestGateway.get(bootstrap, mef.est("/csrattrs")).body());
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> r = TestGateway.post(bootstrap, mef.est("/simpleenroll"), "application/pkcs10",
                TestCsr.p256().keys(keys).challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64());
        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(
                new CMSSignedData(Base64.getMimeDecoder().decode(r.body())).getCertificates().getMatches(null).iterator().next().getEncoded()));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("current", keys.getPrivate(), DeviceMaker.Device.PASSWORD, new java.security.cert.Certificate[] {cert});
        return mef.client(ks, DeviceMaker.Device.PASSWORD);
    }

    // --- the corpus files ----------------------------------------------------------------------

    @Test
    @Order(1)
    void everyCorpusCaseGetsItsTablesStatusAndRuleOnEveryEnrolmentEndpointIsAuditedAndNothingIsIssued() throws Exception {
        assertEquals(Oids.SUID_EKU_ARC + ".40", HostileCorpus.EKU_40, "the corpus requests the EKU the gateway maps SUID 40 to");
        List<String> cases;
        try (Stream<Path> files = Files.list(CORPUS)) {
            cases = files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith(".b64")).map(f -> f.replace(".b64", ""))
                    .sorted().toList();
        }
        Map<String, Map<String, Expected>> table = corpusTable();
        assertEquals(List.copyOf(table.keySet()), cases, "every corpus file has exactly one row in the table, and every row a file in "
                + CORPUS.toAbsolutePath());
        List<String> failures = new ArrayList<>();
        for (String name : cases) {
            byte[] body = Files.readAllBytes(CORPUS.resolve(name + ".b64"));
            Map<String, Integer> seen = OBSERVED.computeIfAbsent(name, k -> new LinkedHashMap<>());
            Map<String, Expected> expected = table.get(name);
            check(failures, name, "simpleenroll", expected, seen, deviceClient, mef.est("/hostile/simpleenroll"), body, true);
            check(failures, name, "serverkeygen", expected, seen, deviceClient, mef.est("/serverkeygen"), body, true);
            check(failures, name, "simplereenroll", expected, seen, renewer, mef.est("/hostile/simplereenroll"), body, false);
            // Without a client certificate nothing is parsed at all.
            check(failures, name, "anonymous", expected, seen, anonymous, mef.est("/hostile/simpleenroll"), body, false);
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(issuedBaseline, mef.issued().size(), "nothing issued");
    }

    /**
     * One request: exactly the expected status, a text/plain reason that names the expected rule
     * and profile ({@code refused by rule <rule> of profile <profile>: ...}; a 401 names none),
     * no exception text; for a bootstrap Enrolee the refusal is in the audit log (the renewer's are
     * too, checked in bulk by the count of its refusals).
     */
    private void check(List<String> failures, String name, String endpoint, Map<String, Expected> table, Map<String, Integer> seen,
                       HttpClient client, URI uri, byte[] body, boolean auditedAsHostileDevice) throws Exception {
        Expected expected = table.get(endpoint);
        long refusalsBefore = refusals("enrolee:ae-hostile");
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/pkcs10").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        seen.put(endpoint, r.statusCode());
        String where = name + " -> " + endpoint + ": " + r.statusCode() + " " + r.body().strip();
        if (r.statusCode() != expected.status()) {
            failures.add("expected " + expected.status() + ": " + where);
        }
        String named = expected.rule() == null ? "refused by rule " : "refused by rule " + expected.rule() + " of profile "
                + expected.profile() + ": ";
        if (expected.rule() != null ? !r.body().startsWith(named) : r.body().contains(named)) {
            failures.add((expected.rule() == null ? "a rule named in a 401: " : "expected '" + named + "...': ") + where);
        }
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain")) {
            failures.add("not text/plain: " + where);
        }
        if (r.body().contains("Exception") || r.body().contains("\tat ")) {
            failures.add("exception text to the client: " + where);
        }
        if (auditedAsHostileDevice && !awaitRefusals("enrolee:ae-hostile", refusalsBefore + 1)) {
            failures.add("refusal not audited: " + where);
        }
    }

    static long refusals(String actor) {
        return mef.gateway.store().auditEvents(0, 1_000_000).stream()
                .filter(e -> e.type().equals("enrolment.refused") && e.actor().equals(actor)).count();
    }

    /** Refusal events are written by the next group commit, after the answer: wait for it (up to 10 s). */
    static boolean awaitRefusals(String actor, long atLeast) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            if (refusals(actor) >= atLeast) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    // --- what no file holds ---------------------------------------------------------------------

    @Test
    @Order(2)
    void tenMegabyteBodiesAre413OnEstAndAdminWithoutBeingRead() throws Exception {
        byte[] tenMb = new byte[10 * 1024 * 1024];
        java.util.Arrays.fill(tenMb, (byte) 'A');
        for (String path : List.of("/hostile/simpleenroll", "/serverkeygen", "/hostile/simplereenroll")) {
            String answer = rawPost(path, "application/pkcs10", tenMb);
            observe("body-10MB", path, answer);
            assertEquals(List.of(413), RawHttps.statuses(answer), answer);
            assertTrue(answer.contains("text/plain") && answer.contains("too large"), answer);
        }
        try (RawHttps operator = RawHttps.operator(mef)) {
            String answer = rawPost(operator, "/admin/enrolees", "application/json", tenMb);
            observe("body-10MB", "admin /admin/enrolees", answer);
            assertEquals(List.of(413), RawHttps.statuses(answer), answer);
        }
        assertEquals(issuedBaseline, mef.issued().size());
    }

    /** Sends the body while reading, so that the server's early 413 and close are seen rather than a broken pipe. */
    private String rawPost(String path, String contentType, byte[] body) throws Exception {
        try (RawHttps c = RawHttps.connect(mef, device)) {
            return rawPost(c, "/.well-known/est" + path, contentType, body);
        }
    }

    private static String rawPost(RawHttps c, String path, String contentType, byte[] body) throws Exception {
        {
            c.send("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + contentType
                    + "\r\nContent-Length: " + body.length + "\r\n\r\n");
            Thread writer = new Thread(() -> {
                try {
                    for (int off = 0; off < body.length; off += 65536) {
                        c.send(java.util.Arrays.copyOfRange(body, off, Math.min(body.length, off + 65536)));
                    }
                } catch (Exception closedByServer) {
                    // expected once the server has answered 413 and closed
                }
            });
            writer.start();
            String answer = c.readAll();
            c.close();
            writer.join();
            return answer;
        }
    }

    @Test
    @Order(3)
    void slowLorisHeadersAreCutOffByClosingTheConnection() throws Exception {
        try (RawHttps c = RawHttps.connect(mef, device)) {
            c.send("POST /.well-known/est/hostile/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            // One header byte a second, never finishing: the header deadline (3 s here) closes the connection.
            Thread trickle = new Thread(() -> {
                try {
                    for (int i = 0; i < 120; i++) {
                        c.send("X");
                        Thread.sleep(1000);
                    }
                } catch (Exception closed) {
                    // the server closed the connection
                }
            });
            trickle.setDaemon(true);
            trickle.start();
            String answer = c.readAll();
            observe("slow-loris-headers", "simpleenroll", answer);
            assertEquals(List.of(), RawHttps.statuses(answer), "closed without an answer: " + answer);
        }
    }

    @Test
    @Order(4)
    void slowLorisBodyGets408AndTheConnectionIsClosed() throws Exception {
        try (RawHttps c = RawHttps.connect(mef, device)) {
            c.send("POST /.well-known/est/hostile/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                    + "Content-Length: 1000\r\n\r\nMIIB");
            Thread trickle = new Thread(() -> {
                try {
                    for (int i = 0; i < 120; i++) {
                        c.send("A");
                        Thread.sleep(1000);
                    }
                } catch (Exception closed) {
                    // the server closed the connection
                }
            });
            trickle.setDaemon(true);
            trickle.start();
            String answer = c.readAll();
            observe("slow-loris-body", "simpleenroll", answer);
            assertEquals(List.of(408), RawHttps.statuses(answer), answer);
            assertTrue(answer.contains("text/plain") && answer.toLowerCase().contains("connection: close"), answer);
        }
        assertEquals(issuedBaseline, mef.issued().size());
    }

    /**
     * Request smuggling (RFC 9112 6.3): a request whose length the server and a proxy in front
     * could read differently is refused and the connection closed, so no second request hidden in
     * the body can be answered. As the README's table says: a Transfer-Encoding (the EST endpoints
     * take only a Content-Length) is 411 and closed; a Content-Length that is not one plain number,
     * or headers Netty's parser rejects, are 400 and closed. Each attempt gets exactly its one
     * answer, and then the end of the stream ({@link RawHttps#readAll} returns only when the server
     * closes; a connection left open fails it after 30 s).
     */
    @Test
    @Order(5)
    void smugglingAttemptsGetExactlyTheirStatusThenTheConnectionIsClosedAndNoHiddenRequestIsAnswered() throws Exception {
        String hidden = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        record Attempt(String headersAndBody, int status) {
        }
        Map<String, Attempt> attempts = new LinkedHashMap<>();
        attempts.put("chunked-upload", new Attempt("Transfer-Encoding: chunked\r\n\r\n4\r\nAAAA\r\n0\r\n\r\n" + hidden, 411));
        attempts.put("smuggle-cl-and-te-chunked", new Attempt("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden, 411));
        attempts.put("smuggle-te-and-cl", new Attempt("Transfer-Encoding: chunked\r\nContent-Length: 200\r\n\r\n0\r\n\r\n" + hidden, 411));
        attempts.put("smuggle-te-obfuscated", new Attempt("Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nAAAA" + hidden, 411));
        attempts.put("smuggle-duplicate-cl", new Attempt("Content-Length: 4\r\nContent-Length: " + (4 + hidden.length())
                + "\r\n\r\nAAAA" + hidden, 400));
        attempts.put("smuggle-cl-list", new Attempt("Content-Length: 4, 60\r\n\r\nAAAA" + hidden, 400));
        attempts.put("smuggle-cl-negative", new Attempt("Content-Length: -1\r\n\r\n" + hidden, 400));
        attempts.put("smuggle-cl-plus-sign", new Attempt("Content-Length: +4\r\n\r\nAAAA" + hidden, 400));
        attempts.put("smuggle-te-space-before-colon", new Attempt("Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\nAAAA" + hidden, 400));
        attempts.put("smuggle-bare-lf-headers", new Attempt("Content-Length: 4\n\nAAAA" + hidden, 400));
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, Attempt> attempt : attempts.entrySet()) {
            try (RawHttps c = RawHttps.connect(mef, device)) {
                c.send("POST /.well-known/est/hostile/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                        + "Connection: keep-alive\r\n" + attempt.getValue().headersAndBody());
                String answer;
                try {
                    answer = c.readAll();
                } catch (java.io.IOException openAfter30s) {
                    failures.add(attempt.getKey() + ": the connection was not closed: " + openAfter30s.getMessage());
                    continue;
                }
                observe(attempt.getKey(), "simpleenroll", answer);
                if (!RawHttps.statuses(answer).equals(List.of(attempt.getValue().status()))) {
                    failures.add(attempt.getKey() + ": expected exactly one answer, " + attempt.getValue().status()
                            + ", then the end of the connection; got " + RawHttps.statuses(answer) + ": " + answer);
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(issuedBaseline, mef.issued().size());
    }

    @Test
    @Order(6)
    void wrongMethodsAndContentTypesAreRefused() throws Exception {
        List<String> failures = new ArrayList<>();
        record Probe(String name, String method, String path, String contentType, int expected) {
        }
        String est = "/.well-known/est";
        List<Probe> probes = List.of(
                new Probe("method-get-simpleenroll", "GET", est + "/simpleenroll", null, 405),
                new Probe("method-put-simpleenroll", "PUT", est + "/simpleenroll", "application/pkcs10", 405),
                new Probe("method-delete-cacerts", "DELETE", est + "/cacerts", null, 405),
                new Probe("method-post-cacerts", "POST", est + "/cacerts", "application/pkcs10", 405),
                new Probe("method-post-csrattrs", "POST", est + "/csrattrs", "application/pkcs10", 405),
                new Probe("method-trace-cacerts", "TRACE", est + "/cacerts", null, 405),
                new Probe("method-post-mef-command", "POST", "/mef/command", "application/json", 405),
                new Probe("method-get-serverkeygen", "GET", est + "/serverkeygen", null, 405),
                new Probe("method-get-simplereenroll", "GET", est + "/simplereenroll", null, 405),
                new Probe("type-json-simpleenroll", "POST", est + "/simpleenroll", "application/json", 415),
                new Probe("type-none-simpleenroll", "POST", est + "/simpleenroll", null, 415),
                new Probe("type-form-serverkeygen", "POST", est + "/serverkeygen", "application/x-www-form-urlencoded", 415),
                new Probe("type-multipart-simplereenroll", "POST", est + "/simplereenroll", "multipart/form-data; boundary=x", 415),
                new Probe("type-pkcs10x-simpleenroll", "POST", est + "/simpleenroll", "application/pkcs10x", 415),
                new Probe("type-pkcs7-simpleenroll", "POST", est + "/simpleenroll", "application/pkcs7-mime", 415),
                new Probe("path-traversal-label", "GET", est + "/..%2f..%2fadmin/cacerts", null, 404),
                new Probe("path-unknown-label", "GET", est + "/no-such-label/cacerts", null, 404),
                new Probe("path-fullcmc", "POST", est + "/fullcmc", "application/pkcs7-mime", 404));
        for (Probe p : probes) {
            HttpRequest.Builder b = HttpRequest.newBuilder(mef.mefBase().resolve(p.path())).timeout(Duration.ofSeconds(30));
            if (p.contentType() != null) {
                b.header("Content-Type", p.contentType());
            }
            b.method(p.method(), p.method().equals("GET") || p.method().equals("TRACE") || p.method().equals("DELETE")
                    ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("MIIBAAAA"));
            HttpResponse<String> r = deviceClient.send(b.build(), HttpResponse.BodyHandlers.ofString());
            OBSERVED.computeIfAbsent(p.name(), k -> new LinkedHashMap<>()).put(p.method() + " " + p.path(), r.statusCode());
            if (r.statusCode() != p.expected() || !r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain")) {
                failures.add(p.name() + ": expected " + p.expected() + " text/plain, got " + r.statusCode() + " "
                        + r.headers().firstValue("Content-Type").orElse("") + " " + r.body().strip());
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    @Order(7)
    void headersAndRequestLinesBeyondTheLimitsAre431And414() throws Exception {
        String h431;
        try (RawHttps c = RawHttps.connect(mef, device)) {
            h431 = c.send("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n").readAll();
        }
        observe("header-20KB", "cacerts", h431);
        assertEquals(List.of(431), RawHttps.statuses(h431), h431);
        assertTrue(h431.contains("text/plain"), h431);
        String h414;
        try (RawHttps c = RawHttps.connect(mef, device)) {
            h414 = c.send("GET /.well-known/est/cacerts?" + "q".repeat(10_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").readAll();
        }
        observe("request-line-10KB", "cacerts", h414);
        assertEquals(List.of(414), RawHttps.statuses(h414), h414);
        String garbage;
        try (RawHttps c = RawHttps.connect(mef, device)) {
            garbage = c.send("\u0000\u0001\u0002 NOT HTTP AT ALL\r\n\r\n").readAll();
        }
        observe("not-http", "-", garbage);
        assertEquals(List.of(400), RawHttps.statuses(garbage), "400, then closed: " + garbage);
    }

    @Test
    @Order(8)
    void replayedAndExpiredChallengesAreRefusedAndAudited() throws Exception {
        DeviceMaker.Device d = maker.device("hostile-replayer");
        mef.register(d, "ae-hostile-replayer", "AE-ID", AE_ID, 40);
        HttpClient client = mef.client(d);
        String challenge = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
        String csr = TestCsr.p256().challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64();
        assertEquals(200, TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr).statusCode());
        issuedBaseline++;
        // The operator instructs it again; the captured request replayed still cannot buy a certificate.
        assertEquals(200, new AdminClient(mef.config).postJson("/admin/enrolees/ae-hostile-replayer/instruct", "").statusCode());
        long before = refusals("enrolee:ae-hostile-replayer");
        HttpResponse<String> replay = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
        OBSERVED.computeIfAbsent("challenge-replayed", k -> new LinkedHashMap<>()).put("simpleenroll", replay.statusCode());
        assertEquals(403, replay.statusCode(), replay.body());
        assertTrue(replay.body().contains("challenge.unused"), replay.body());
        assertTrue(awaitRefusals("enrolee:ae-hostile-replayer", before + 1));

        String old = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
        mef.clock.advance(Duration.ofSeconds(301));
        HttpResponse<String> expired = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10",
                TestCsr.p256().challenge(old).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64());
        OBSERVED.computeIfAbsent("challenge-expired", k -> new LinkedHashMap<>()).put("simpleenroll", expired.statusCode());
        assertEquals(403, expired.statusCode(), expired.body());
        assertTrue(expired.body().contains("challenge.unexpired"), expired.body());
        assertTrue(awaitRefusals("enrolee:ae-hostile-replayer", before + 2));
        assertEquals(issuedBaseline, mef.issued().size());
    }

    @Test
    @Order(9)
    void adminEndpointsRefuseHostileInputWith400() throws Exception {
        AdminClient admin = new AdminClient(mef.config);
        List<String> failures = new ArrayList<>();
        byte[] nested = Files.readAllBytes(CORPUS.resolve("asn1-nested-10000-sequences.b64"));
        Map<String, HttpResponse<String>> answers = new LinkedHashMap<>();
        answers.put("admin-register-corpus-body", admin.postJson("/admin/enrolees", new String(nested)));
        answers.put("admin-register-nested-json", admin.postJson("/admin/enrolees", "[".repeat(5000) + "]".repeat(5000)));
        answers.put("admin-register-bootstrap-nested-asn1", admin.postJson("/admin/enrolees", "{\"id\":\"x\",\"bootstrapCertificate\":"
                + "\"-----BEGIN CERTIFICATE-----\\n" + new String(nested).replace("\r\n", "\\n") + "\\n-----END CERTIFICATE-----\\n\","
                + "\"certSubjectType\":\"AE-ID\",\"certSubjectID\":\"" + AE_ID + "\"}"));
        answers.put("admin-register-id-nul", admin.postJson("/admin/enrolees", "{\"id\":\"a\\u0000b\",\"bootstrapFingerprint\":\""
                + "0".repeat(64) + "\",\"certSubjectType\":\"AE-ID\",\"certSubjectID\":\"" + AE_ID + "\"}"));
        answers.put("admin-revoke-bad-serial", admin.postJson("/admin/certificates/..%2f..%2fetc/revoke", ""));
        answers.put("admin-revoke-huge-serial", admin.postJson("/admin/certificates/" + "f".repeat(200) + "/revoke", ""));
        answers.put("admin-revoke-body-not-json", admin.postJson("/admin/certificates/1234/revoke", "MIIB!!"));
        answers.put("admin-reject-body-nested", admin.postJson("/admin/requests/abc/reject", "[".repeat(3000)));
        answers.put("admin-list-bad-expiry", admin.get("/admin/certificates?expiresBefore=%00%00"));
        for (Map.Entry<String, HttpResponse<String>> a : answers.entrySet()) {
            HttpResponse<String> r = a.getValue();
            OBSERVED.computeIfAbsent(a.getKey(), k -> new LinkedHashMap<>()).put("admin", r.statusCode());
            // Each is a request the admin API cannot read as what it asks for: a body that is not the
            // JSON object it takes, a serial that is not hexadecimal or too long, a bad date.
            if (r.statusCode() != 400 || !r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain")) {
                failures.add(a.getKey() + ": expected 400 text/plain, got " + r.statusCode() + " "
                        + r.headers().firstValue("Content-Type").orElse("") + " " + r.body().strip());
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        assertEquals(issuedBaseline, mef.issued().size());
    }

    @Test
    @Order(100)
    void afterAllOfItTheGatewayStillServesAndEnrols() throws Exception {
        DeviceMaker.Device d = maker.device("hostile-after");
        mef.register(d, "ae-hostile-after", "AE-ID", AE_ID, 40);
        HttpClient client = mef.client(d);
        String challenge = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
        HttpResponse<String> r = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10",
                TestCsr.p256().challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(issuedBaseline + 1, mef.issued().size());
        assertTrue(mef.gateway.store().verifyAuditChain().intact(), "the audit chain is intact");
        List<AuditEvent> events = mef.gateway.store().auditEvents(0, 1_000_000);
        assertFalse(events.isEmpty());
    }

    private static void observe(String name, String endpoint, String rawAnswer) {
        List<Integer> statuses = RawHttps.statuses(rawAnswer);
        OBSERVED.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(endpoint, statuses.isEmpty() ? -1 : statuses.get(0));
    }

}
