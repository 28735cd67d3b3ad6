package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.core.Challenges;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.Oids;
import org.mefgateway.policy.SignatureVerification;

/** The operator listener: health, the pinned operator certificate, registration checks and the mefgate admin CLI. */
class AdminApiTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient operator;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Admin Maker CA");
        mef = TestGateway.start(maker);
        operator = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    URI admin(String path) {
        return URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + path);
    }

    @Test
    void readinessReportsStoreHsmAndPolicyUpWithTheProfilesWithoutAuthentication() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), admin("/health/ready"));

        assertEquals(200, r.statusCode(), r.body());
        JsonObject body = new JsonObject(r.body());
        assertEquals("UP", body.getString("status"));
        assertEquals("UP", body.getString("store"));
        assertEquals("UP", body.getString("hsm"));
        assertEquals("UP", body.getString("policy"));
        assertEquals(List.of("default"), body.getJsonArray("profiles").getList());
        // This gateway runs in the test's JVM: the provider that JVM chose (ACCP here, unless forced off).
        assertEquals(SignatureVerification.provider(), body.getString("csr_verify_provider"));
    }

    @Test
    void metricsAreServedInPrometheusTextFormatOnTheAdminListener() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), admin("/metrics"));

        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertTrue(r.body().contains("# TYPE jvm_memory_used_bytes gauge"), r.body());
    }

    @Test
    void adminApiWithoutAClientCertificateIsUnauthenticated() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), admin("/admin/enrolees"));

        assertEquals(401, r.statusCode(), r.body());
    }

    /**
     * A bootstrap certificate of a maker the EST listener trusts, presented to the admin listener
     * anyway: the admin listener trusts only the pinned operator certificates, so the handshake
     * fails with the fatal alert unknown_ca (certificate_unknown on JSSE) before any HTTP.
     */
    @Test
    void aDeviceCertificateCannotActAsOperator() throws Exception {
        DeviceMaker.Device device = maker.device("would-be-admin");

        assertHandshakeRefused(device.keyStore(), DeviceMaker.Device.PASSWORD, device.certificate());
    }

    /**
     * A certificate this gateway's own CA issued to a registered Enrolee, valid and in the ledger,
     * is still not an operator's. A client library offers it only to a server that names its
     * issuer, and the admin listener names only the operator certificates: such a client sends
     * no certificate and gets 401. Presented anyway, it fails the handshake like any other
     * certificate that is not pinned (unknown_ca); it never reaches the operator check (403).
     */
    @Test
    void aCertificateThisCaIssuedToAnEnroleeCannotActAsOperator() throws Exception {
        DeviceMaker.Device device = maker.device("enrolee-as-admin");
        String aeId = "//m2m.example.com/CSE3219/C0778";
        mef.register(device, "ae-as-admin", "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = TestCsr.keys("EC", new ECGenParameterSpec("secp256r1"));
        HttpResponse<String> enrolled = TestGateway.post(bootstrap, mef.est("/simpleenroll"), "application/pkcs10",
                TestCsr.p256().keys(keys).challenge(mef.challenge(bootstrap, "")).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40").base64());
        assertEquals(200, enrolled.statusCode(), enrolled.body());
        X509Certificate issued = PolicyProfilesTest.certificate(enrolled);
        issued.verify(mef.caCertificate.getPublicKey());
        KeyStore credential = KeyStore.getInstance("PKCS12");
        credential.load(null, null);
        credential.setKeyEntry("issued", keys.getPrivate(), DeviceMaker.Device.PASSWORD, new java.security.cert.Certificate[] {issued});

        HttpResponse<String> library = TestGateway.get(mef.client(credential, DeviceMaker.Device.PASSWORD), admin("/admin/enrolees"));
        assertEquals(401, library.statusCode(), "the client offered no certificate: " + library.body());
        assertHandshakeRefused(credential, DeviceMaker.Device.PASSWORD, issued);
    }

    /** {@code certificate} presented to the admin listener: the server refuses it with the TLS alert unknown_ca (certificate_unknown on JSSE). */
    private void assertHandshakeRefused(KeyStore credential, char[] password, X509Certificate certificate) throws Exception {
        try (RawHttps c = RawHttps.presenting(mef, mef.gateway.adminPort(), credential, password)) {
            assertEquals(certificate, c.socket.getSession().getLocalCertificates()[0], "the certificate was presented");
            SSLHandshakeException refused = assertThrows(SSLHandshakeException.class, () -> c.socket.getInputStream().read());
            // unknown_ca from BoringSSL, certificate_unknown from JSSE (the fallback engine): the certificate is refused, not the MEF at fault.
            assertTrue(refused.getMessage().matches(".*Received fatal alert: (unknown_ca|certificate_unknown)"), refused.toString());
        }
    }

    @Test
    void adminActionsAreNotReachableOnTheEstListener() throws Exception {
        DeviceMaker.Device device = maker.device("est-side-admin");
        mef.register(device, "ae-est-side", "AE-ID", "//m2m.example.com/CSE3219/C0777", 40);
        var data = mef.config.dataDir();
        char[] password = org.mefgateway.gateway.PrivateFiles.readPassword(data.operatorPassword());
        java.util.Map<String, HttpClient> clients = java.util.Map.of(
                "anonymous", mef.client(null),
                "registered device", mef.client(device),
                "operator certificate", mef.client(org.mefgateway.gateway.TlsMaterial.loadPkcs12(data.operatorKeyStore(), password), password));
        String[][] routes = {
                {"GET", "/admin/enrolees"}, {"POST", "/admin/enrolees"}, {"DELETE", "/admin/enrolees/ae-est-side"},
                {"POST", "/admin/enrolees/ae-est-side/instruct"}, {"GET", "/admin/certificates"},
                {"POST", "/admin/certificates/1234/revoke"}, {"GET", "/admin/requests"}, {"POST", "/admin/requests/abc/approve"},
                {"POST", "/admin/requests/abc/reject"}, {"GET", "/admin/policy"}, {"POST", "/admin/policy/reload"},
                {"GET", "/admin/audit/verify"}, {"GET", "/metrics"}, {"GET", "/health/ready"}};
        long eventsBefore = mef.gateway.store().auditEvents(0, 1_000_000).stream()
                .filter(e -> !e.type().equals("enrolees.listed")).count();
        for (var client : clients.entrySet()) {
            for (String[] route : routes) {
                HttpResponse<String> r = client.getValue().send(java.net.http.HttpRequest.newBuilder(mef.mefBase().resolve(route[1]))
                        .header("Content-Type", "application/json")
                        .method(route[0], route[0].equals("POST") ? java.net.http.HttpRequest.BodyPublishers.ofString("{}")
                                : java.net.http.HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(404, r.statusCode(), client.getKey() + " " + route[0] + " " + route[1] + ": " + r.body());
            }
        }
        assertTrue(operator.get("/admin/enrolees").body().contains("ae-est-side"), "the Enrolee is still registered");
        assertEquals(eventsBefore, mef.gateway.store().auditEvents(0, 1_000_000).stream()
                .filter(e -> !e.type().equals("enrolees.listed")).count(), "no admin action happened");
    }

    @Test
    void everyAdminActionIsAudited() throws Exception {
        long before = mef.gateway.store().auditEvents(0, 1_000_000).size();
        assertEquals(200, operator.get("/admin/enrolees").statusCode());
        assertEquals(200, operator.get("/admin/requests").statusCode());
        assertEquals(200, operator.get("/admin/certificates").statusCode());
        assertEquals(200, operator.postJson("/admin/policy/reload", "").statusCode());
        assertEquals(200, operator.get("/admin/audit/verify").statusCode());

        List<String> types = mef.gateway.store().auditEvents(0, 1_000_000).stream().skip(before)
                .filter(e -> e.actor().startsWith("operator:")).map(e -> e.type()).toList();
        assertEquals(List.of("enrolees.listed", "requests.listed", "certificates.exported", "policy.reloaded", "audit.verified"), types);
    }

    @Test
    void registrationsThatCannotWorkAreRefusedWithTheReason() throws Exception {
        String pem = io.vertx.core.json.Json.encode(Pem.encode(maker.device("x").certificate()));
        List<String[]> cases = List.of(
                new String[] {"{\"id\":\"a b\",\"bootstrapCertificate\":" + pem + ",\"certSubjectType\":3,\"certSubjectID\":\"//x/y\"}", "id must be"},
                new String[] {"{\"id\":\"c1\",\"bootstrapCertificate\":" + pem + ",\"certSubjectType\":9,\"certSubjectID\":\"//x/y\"}", "certSubjectType"},
                new String[] {"{\"id\":\"c2\",\"bootstrapCertificate\":" + pem + ",\"certSubjectType\":\"CSE-ID\",\"certSubjectID\":\"not a dns name\"}", "DNS name"},
                new String[] {"{\"id\":\"c3\",\"bootstrapCertificate\":" + pem + ",\"certSubjectType\":3,\"certSubjectID\":\"//x/y\",\"suids\":[39]}", "suids"},
                new String[] {"{\"id\":\"c4\",\"bootstrapCertificate\":\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\",\"certSubjectType\":3,\"certSubjectID\":\"//x/y\"}", "certificate"},
                new String[] {"{\"id\":\"c5\",\"bootstrapFingerprint\":\"abc\",\"certSubjectType\":3,\"certSubjectID\":\"//x/y\"}", "64 hex"},
                new String[] {"not json", "JSON"});
        for (String[] c : cases) {
            HttpResponse<String> r = operator.postJson("/admin/enrolees", c[0]);
            assertEquals(400, r.statusCode(), c[0] + " -> " + r.body());
            assertTrue(r.body().contains(c[1]), c[0] + " -> " + r.body());
        }
        JsonArray enrolees = new JsonArray(operator.get("/admin/enrolees").body());
        assertFalse(enrolees.encode().contains("\"c1\""), "nothing registered: " + enrolees.encode());
    }

    @Test
    void registeringTheSameIdOrBootstrapCertificateTwiceIsAConflict() throws Exception {
        DeviceMaker.Device device = maker.device("twice");
        mef.register(device, "twice-1", "AE-ID", "//m2m.example.com/twice", 40);
        String pem = io.vertx.core.json.Json.encode(Pem.encode(device.certificate()));

        HttpResponse<String> sameCert = operator.postJson("/admin/enrolees",
                "{\"id\":\"twice-2\",\"bootstrapCertificate\":" + pem + ",\"certSubjectType\":3,\"certSubjectID\":\"//x/y\"}");
        HttpResponse<String> sameId = operator.postJson("/admin/enrolees",
                "{\"id\":\"twice-1\",\"bootstrapCertificate\":" + io.vertx.core.json.Json.encode(Pem.encode(maker.device("other").certificate()))
                        + ",\"certSubjectType\":3,\"certSubjectID\":\"//x/y\"}");

        assertEquals(409, sameCert.statusCode(), sameCert.body());
        assertEquals(409, sameId.statusCode(), sameId.body());
        assertTrue(sameId.body().contains("twice-1"), sameId.body());
    }

    /**
     * TS-0003 8.3.9.7 / 12.3.2.5: a SCEP instruction names certProvProtocolID SCEP and the SCEP URI
     * in the Enrolee's command, and hands the operator a challengePassword (SCEP has no csrattrs)
     * stored for that Enrolee alone, unused, expiring after the profile's challenge lifetime (300 s).
     */
    @Test
    void aScepInstructionNamesScepAndItsUriAndHandsOutAChallengeForThatEnroleeOnly() throws Exception {
        DeviceMaker.Device device = maker.device("scep-api");
        DeviceMaker.Device other = maker.device("scep-api-other");
        mef.register(device, "scep-api", "AE-ID", "//m2m.example.com/scep-api", 40);
        mef.register(other, "scep-api-other", "AE-ID", "//m2m.example.com/scep-api-other", 40);
        String scepUri = mef.publicationBase() + "/scep";

        Instant before = Instant.now();
        HttpResponse<String> r = operator.postJson("/admin/enrolees/scep-api/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
        Instant after = Instant.now();

        assertEquals(200, r.statusCode(), r.body());
        JsonObject answer = new JsonObject(r.body());
        assertEquals("SCEP", answer.getString("certProvProtocolID"));
        assertEquals(scepUri, answer.getString("URI"));
        IssuedChallenge stored = mef.gateway.store().challenge(Challenges.hash(answer.getString("challenge"))).orElseThrow();
        assertEquals("scep-api", stored.enroleeId());
        assertFalse(stored.used());
        assertFalse(stored.expiresAt().isBefore(before.plusSeconds(300).truncatedTo(ChronoUnit.MILLIS)), stored.toString());
        assertFalse(stored.expiresAt().isAfter(after.plusSeconds(300)), stored.toString());

        JsonObject command = new JsonObject(TestGateway.get(mef.client(device), mef.mefBase().resolve("/mef/command")).body());
        assertEquals("CERT_PROV", command.getString("command"));
        assertEquals("SCEP", command.getString("certProvProtocolID"));
        assertEquals(scepUri, command.getString("URI"));
        JsonObject othersCommand = new JsonObject(TestGateway.get(mef.client(other), mef.mefBase().resolve("/mef/command")).body());
        assertEquals("EST", othersCommand.getString("certProvProtocolID"), "only the instructed Enrolee moved to SCEP");
        assertEquals(mef.mefBase() + "/.well-known/est", othersCommand.getString("URI"));
    }

    /**
     * The SCEP instruction's challenge is a real one of the challenge store (the one the pipeline's
     * claim spends): another Enrolee's CSR cannot use it, its own Enrolee's can, once.
     */
    @Test
    void theScepChallengeServesItsOwnEnroleeOnceAndNoOtherEnrolee() throws Exception {
        DeviceMaker.Device device = maker.device("scep-once");
        DeviceMaker.Device other = maker.device("scep-once-other");
        mef.register(device, "scep-once", "AE-ID", "//m2m.example.com/scep-once", 40);
        mef.register(other, "scep-once-other", "AE-ID", "//m2m.example.com/scep-once-other", 40);
        HttpResponse<String> r = operator.postJson("/admin/enrolees/scep-once/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
        assertEquals(200, r.statusCode(), r.body());
        String challenge = new JsonObject(r.body()).getString("challenge");

        HttpResponse<String> byOther = enrolWith(other, "//m2m.example.com/scep-once-other", challenge);
        HttpResponse<String> byItsEnrolee = enrolWith(device, "//m2m.example.com/scep-once", challenge);
        assertEquals(200, operator.postJson("/admin/enrolees/scep-once/instruct", "{\"certProvProtocolID\":\"SCEP\"}").statusCode());
        HttpResponse<String> again = enrolWith(device, "//m2m.example.com/scep-once", challenge);

        assertEquals(403, byOther.statusCode(), byOther.body());
        assertTrue(byOther.body().contains("the challengePassword was issued to another Enrolee, not to scep-once-other"), byOther.body());
        assertEquals(200, byItsEnrolee.statusCode(), byItsEnrolee.body());
        PolicyProfilesTest.certificate(byItsEnrolee).verify(mef.caCertificate.getPublicKey());
        assertEquals(403, again.statusCode(), again.body());
        assertTrue(again.body().contains("the challengePassword was already used"), "spent, though instructed again: " + again.body());
    }

    private HttpResponse<String> enrolWith(DeviceMaker.Device device, String aeId, String challenge) throws Exception {
        KeyPair keys = TestCsr.keys("EC", new ECGenParameterSpec("secp256r1"));
        return TestGateway.post(mef.client(device), mef.est("/simpleenroll"), "application/pkcs10",
                TestCsr.p256().keys(keys).challenge(challenge).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40").base64());
    }

    /** An EST instruction is what it was: EST and its URI in the command, and no challenge handed out. */
    @Test
    void anEstInstructionNamesEstAndHandsOutNoChallenge() throws Exception {
        DeviceMaker.Device device = maker.device("est-again");
        mef.register(device, "est-again", "AE-ID", "//m2m.example.com/est-again", 40);
        assertEquals(200, operator.postJson("/admin/enrolees/est-again/instruct", "{\"certProvProtocolID\":\"SCEP\"}").statusCode());

        HttpResponse<String> r = operator.postJson("/admin/enrolees/est-again/instruct", "");

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(new JsonObject().put("id", "est-again").put("command", "CERT_PROV").put("certProvProtocolID", "EST"),
                new JsonObject(r.body()));
        JsonObject command = new JsonObject(TestGateway.get(mef.client(device), mef.mefBase().resolve("/mef/command")).body());
        assertEquals("EST", command.getString("certProvProtocolID"));
        assertEquals(mef.mefBase() + "/.well-known/est", command.getString("URI"));
    }

    @Test
    void anInstructionForAnUnknownProtocolIsRefusedWithTheReason() throws Exception {
        mef.register(maker.device("proto-x"), "proto-x", "AE-ID", "//m2m.example.com/proto-x", 40);

        HttpResponse<String> r = operator.postJson("/admin/enrolees/proto-x/instruct", "{\"certProvProtocolID\":\"CMP\"}");

        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("certProvProtocolID must be EST or SCEP, not 'CMP'"), r.body());
    }

    /** mefgate admin instruct/register-enrolee --protocol scep print the challenge on its own line; anything but est|scep is a usage error. */
    @Test
    void mefgateAdminCliInstructsForScepAndPrintsTheChallenge() throws Exception {
        Path cert = mef.dataDir.resolve("cli-scep.pem");
        Pem.write(cert, maker.device("cli-scep").certificate());
        mef.register(maker.device("cli-scep-2"), "cli-scep-2", "AE-ID", "//m2m.example.com/cli-scep-2", 40);

        CliResult registered = mefgate("admin", "register-enrolee", "--id", "cli-scep", "--bootstrap-cert", cert.toString(),
                "--type", "AE-ID", "--subject-id", "//m2m.example.com/cli-scep", "--protocol", "scep");
        CliResult instructed = mefgate("admin", "instruct", "--id", "cli-scep-2", "--protocol", "scep");
        CliResult wrong = mefgate("admin", "instruct", "--id", "cli-scep-2", "--protocol", "cmp");

        assertEquals(0, registered.exit, registered.toString());
        assertEquals("cli-scep", storedChallengeOwner(registered));
        assertEquals(0, instructed.exit, instructed.toString());
        assertEquals("cli-scep-2", storedChallengeOwner(instructed));
        assertTrue(instructed.out.contains("\"certProvProtocolID\" : \"SCEP\""), instructed.toString());
        assertEquals(2, wrong.exit, wrong.toString());
        assertTrue(wrong.err.contains("expected est or scep, not 'cmp'"), wrong.toString());
    }

    /** The Enrolee the challenge printed on the CLI's {@code challenge: } line is stored for (the line is the last, and only once). */
    private static String storedChallengeOwner(CliResult result) {
        List<String> lines = result.out.lines().filter(l -> l.startsWith("challenge: ")).toList();
        assertEquals(1, lines.size(), result.toString());
        assertTrue(result.out.strip().endsWith(lines.get(0)), result.toString());
        return mef.gateway.store().challenge(Challenges.hash(lines.get(0).substring("challenge: ".length()))).orElseThrow().enroleeId();
    }

    /** The operator's CLI, run as its own process against the running gateway. */
    @Test
    void mefgateAdminCliRegistersAndListsEnrolees() throws Exception {
        Path cert = mef.dataDir.resolve("cli-device.pem");
        Pem.write(cert, maker.device("cli-device").certificate());

        CliResult registered = mefgate("admin", "register-enrolee", "--id", "cli-1", "--bootstrap-cert", cert.toString(),
                "--type", "Node-ID", "--subject-id", "urn:gsma:imei:35-209900-176148-9", "--suids", "40,44");
        CliResult listed = mefgate("admin", "list-enrolees");
        CliResult refused = mefgate("admin", "register-enrolee", "--id", "cli-1", "--bootstrap-cert", cert.toString(),
                "--type", "Node-ID", "--subject-id", "urn:x");
        CliResult usage = mefgate("admin", "register-enrolee", "--id", "cli-2");

        assertEquals(0, registered.exit, registered.toString());
        assertTrue(registered.out.contains("\"certSubjectType\" : 1"), registered.toString());
        assertEquals(0, listed.exit, listed.toString());
        assertTrue(listed.out.contains("\"cli-1\""), listed.toString());
        assertEquals(1, refused.exit, refused.toString());
        assertTrue(refused.err.contains("409"), refused.toString());
        assertEquals(2, usage.exit, usage.toString());
        assertTrue(usage.err.contains("--type is required"), usage.toString());
    }

    /**
     * ops/mefgate runs from the repository root (the configuration's relative paths are relative to
     * it), yet a file the operator names relative to where they are is theirs: it used to fail with
     * just "mefgate: rel.pem". A file that does not exist is named with its full path.
     */
    @Test
    void opsMefgateReadsAFileNamedRelativeToTheCallersDirectoryAndNamesAMissingOne(@TempDir Path elsewhere) throws Exception {
        Pem.write(elsewhere.resolve("rel.pem"), maker.device("cli-relative").certificate());
        Path script = Path.of("..", "ops", "mefgate").toAbsolutePath().normalize();

        CliResult registered = run(elsewhere, script.toString(), "--config", mef.configFile.toString(), "admin", "register-enrolee",
                "--id", "cli-rel", "--bootstrap-cert", "rel.pem", "--type", "AE-ID", "--subject-id", "//m2m.example.com/cli-rel",
                "--profiles", "default");
        CliResult missing = run(elsewhere, script.toString(), "--config", mef.configFile.toString(), "admin", "register-enrolee",
                "--id", "cli-missing", "--bootstrap-cert", "absent.pem", "--type", "AE-ID", "--subject-id", "//m2m.example.com/x");

        assertEquals(0, registered.exit, registered.toString());
        assertTrue(registered.out.contains("\"cli-rel\""), registered.toString());
        assertEquals(1, missing.exit, missing.toString());
        assertEquals("mefgate: no such file: " + elsewhere.resolve("absent.pem"), missing.err.strip(), missing.toString());
    }

    private static CliResult run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "did not finish: " + List.of(command));
        return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    record CliResult(int exit, String out, String err) {
    }

    private CliResult mefgate(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-exports=jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "org.mefgateway.gateway.MefGate",
                "--config", mef.configFile.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "mefgate did not finish");
        return new CliResult(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }
}
