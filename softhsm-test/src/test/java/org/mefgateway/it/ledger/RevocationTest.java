package org.mefgateway.it.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.TestGateway;

/**
 * Revocation end to end on a real gateway: an Enrolee's certificate is revoked through the admin
 * API, and openssl (not our code) accepts the CRL and the OCSP responses and reads the revocation
 * from them. Also the admin export and the audit log of what happened.
 */
class RevocationTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Revocation CA");
        mef = TestGateway.start(maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }


    private HttpResponse<String> revoke(String serial, String body) throws Exception {
        return new AdminClient(mef.config).postJson("/admin/certificates/" + serial + "/revoke", body);
    }

    private String ocsp(Path dir, String certFile) throws Exception {
        return Shell.ok(dir, "openssl", "ocsp", "-issuer", "ca.pem", "-CAfile", "ca.pem", "-cert", certFile,
                "-url", mef.publicationBase().resolve("/ocsp").toString());
    }

    private void fetchCrl(Path dir) throws Exception {
        HttpResponse<byte[]> crl = http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/crl/ca.crl")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, crl.statusCode());
        assertEquals("application/pkix-crl", crl.headers().firstValue("Content-Type").orElse(""));
        Files.write(dir.resolve("ca.crl"), crl.body());
    }

    @Test
    void opensslSeesARevokedCertificateInTheCrlAndInOcspAndAGoodOneAsGood(@TempDir Path dir) throws Exception {
        X509Certificate revoked = mef.enrolNew(maker, "rev-1", dir);
        X509Certificate good = mef.enrolNew(maker, "rev-2", dir);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        Pem.write(dir.resolve("revoked.pem"), revoked);
        Pem.write(dir.resolve("good.pem"), good);
        String serial = revoked.getSerialNumber().toString(16);

        String before = ocsp(dir, "revoked.pem");
        assertTrue(before.contains("Response verify OK") && before.contains("revoked.pem: good"), before);

        HttpResponse<String> r = revoke(serial, "{\"reason\":\"keyCompromise\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("REVOKED", new JsonObject(r.body()).getString("status"));

        // OCSP, signed by the delegated responder's key on the token, verified by openssl through the
        // responder certificate in the response (issued by the CA for OCSP signing) to the CA certificate.
        String after = ocsp(dir, "revoked.pem");
        assertTrue(after.contains("Response verify OK"), after);
        assertTrue(after.contains("revoked.pem: revoked") && after.contains("Reason: keyCompromise"), after);
        String other = ocsp(dir, "good.pem");
        assertTrue(other.contains("Response verify OK") && other.contains("good.pem: good"), other);

        // The CRL was signed again on revocation: openssl verifies its signature and lists the serial.
        fetchCrl(dir);
        String crl = Shell.ok(dir, "openssl", "crl", "-inform", "DER", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout", "-text");
        assertTrue(crl.contains("verify OK"), crl);
        assertTrue(crl.contains("Serial Number: " + Shell.opensslHex(serial)), crl);
        assertTrue(crl.contains("Key Compromise"), crl);
        assertTrue(crl.contains("X509v3 CRL Number"), crl);

        // And path validation with that CRL: the revoked certificate fails, the other passes.
        Shell.ok(dir, "openssl", "crl", "-inform", "DER", "-in", "ca.crl", "-out", "crl.pem");
        Shell.Result rejected = Shell.run(dir, "openssl", "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "revoked.pem");
        assertTrue(rejected.exitCode() != 0 && rejected.output().contains("certificate revoked"), rejected.output());
        String accepted = Shell.ok(dir, "openssl", "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "good.pem");
        assertTrue(accepted.contains("good.pem: OK"), accepted);
    }

    /**
     * RFC 6960 A.1 GET, in the RFC 5019 profile: signed by the CA's delegated responder (its
     * certificate in the response, issued by the CA for OCSP signing), the nonce ignored so that the
     * same signed response answers a request with another nonce, HTTP caching headers.
     */
    @Test
    void ocspGetIsAnsweredByTheDelegatedResponderWithOneReusableResponseWhateverTheNonce(@TempDir Path dir) throws Exception {
        X509Certificate cert = mef.enrolNew(maker, "rev-3", dir);
        assertEquals(200, revoke(cert.getSerialNumber().toString(16), "{\"reason\":\"superseded\"}").statusCode());
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(mef.caCertificate), cert.getSerialNumber());

        HttpResponse<byte[]> r = ocspGet(id, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        HttpResponse<byte[]> again = ocspGet(id, new byte[] {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1});

        assertEquals(200, r.statusCode());
        assertEquals("application/ocsp-response", r.headers().firstValue("Content-Type").orElse(""));
        assertTrue(r.headers().firstValue("Cache-Control").orElse("").matches("max-age=\\d+, public, no-transform, must-revalidate"),
                r.headers().toString());
        OCSPResp response = new OCSPResp(r.body());
        assertEquals(OCSPResp.SUCCESSFUL, response.getStatus());
        BasicOCSPResp basic = (BasicOCSPResp) response.getResponseObject();
        assertEquals(1, basic.getCerts().length, "the responder's certificate goes with the response");
        X509CertificateHolder responder = basic.getCerts()[0];
        assertTrue(responder.isSignatureValid(new JcaContentVerifierProviderBuilder().build(mef.caCertificate)), "issued by the CA");
        assertEquals(List.of(KeyPurposeId.id_kp_OCSPSigning), List.of(ExtendedKeyUsage.fromExtensions(responder.getExtensions()).getUsages()));
        assertTrue(responder.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nocheck) != null, "id-pkix-ocsp-nocheck");
        assertTrue(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(responder)));
        RevokedStatus status = (RevokedStatus) basic.getResponses()[0].getCertStatus();
        assertEquals(4, status.getRevocationReason(), "superseded");
        assertEquals(null, basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce), "RFC 5019: the nonce is not echoed");
        assertArrayEquals(r.body(), again.body(), "another nonce, the same signed response");
    }

    private HttpResponse<byte[]> ocspGet(CertificateID id, byte[] nonce) throws Exception {
        byte[] request = new OCSPReqBuilder().addRequest(id)
                .setRequestExtensions(new org.bouncycastle.asn1.x509.Extensions(new org.bouncycastle.asn1.x509.Extension(
                        OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false, new org.bouncycastle.asn1.DEROctetString(nonce).getEncoded())))
                .build().getEncoded();
        // RFC 6960 A.1: the URL-encoded base64 of the DER request, after the responder's URL.
        String path = "/ocsp/" + URLEncoder.encode(Base64.getEncoder().encodeToString(request), StandardCharsets.US_ASCII);
        return http.send(HttpRequest.newBuilder(mef.publicationBase().resolve(path)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void badRequestsGetAClearReasonNeverAServerError() throws Exception {
        URI ocsp = mef.publicationBase().resolve("/ocsp");
        HttpResponse<String> wrongType = http.send(HttpRequest.newBuilder(ocsp).header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("hello")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(415, wrongType.statusCode());
        assertTrue(wrongType.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        assertTrue(wrongType.body().contains("application/ocsp-request"), wrongType.body());

        // Not DER: OCSP's own answer, malformedRequest (RFC 6960 2.3), unsigned.
        HttpResponse<byte[]> garbage = http.send(HttpRequest.newBuilder(ocsp).header("Content-Type", "application/ocsp-request")
                .POST(HttpRequest.BodyPublishers.ofString("not an OCSP request")).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, garbage.statusCode());
        assertEquals(OCSPResp.MALFORMED_REQUEST, new OCSPResp(garbage.body()).getStatus());

        HttpResponse<String> badPath = http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/ocsp/!!!not-base64!!!")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, badPath.statusCode(), badPath.body());

        assertRefused(revoke("not-hex", "{}"), 400, "hexadecimal");
        assertRefused(revoke("0abc0123", "{}"), 404, "no certificate with serial abc0123");
        assertRefused(revoke("abc", "{\"reason\":\"because\"}"), 400, "unknown revocation reason");
        assertRefused(revoke("abc", "[1,2]"), 400, "JSON object");
        assertRefused(new AdminClient(mef.config).get("/admin/certificates?status=LOST"), 400, "ISSUED or REVOKED");
        assertRefused(new AdminClient(mef.config).get("/admin/certificates?expiresBefore=tomorrow"), 400, "expiresBefore");
        assertRefused(new AdminClient(mef.config).get("/admin/certificates?format=xml"), 400, "json, pem or csv");
    }

    @Test
    void revokingTwiceIsAConflictAndKeepsTheFirstReason(@TempDir Path dir) throws Exception {
        String serial = mef.enrolNew(maker, "rev-4", dir).getSerialNumber().toString(16);
        assertEquals(200, revoke(serial, "{\"reason\":\"cessationOfOperation\"}").statusCode());

        assertRefused(revoke(serial.toUpperCase(Locale.ROOT), "{\"reason\":\"keyCompromise\"}"), 409, "already revoked");
        assertTrue(mef.gateway.store().isRevoked(serial));
    }

    @Test
    void operatorsExportTheLedgerFilteredAsCsvAndPem(@TempDir Path dir) throws Exception {
        X509Certificate a = mef.enrolNew(maker, "exp-1", dir);
        X509Certificate b = mef.enrolNew(maker, "exp-2", dir);
        assertEquals(200, revoke(b.getSerialNumber().toString(16), "{}").statusCode());
        AdminClient admin = new AdminClient(mef.config);

        HttpResponse<String> pem = admin.get("/admin/certificates?enrolee=exp-1&format=pem");
        assertEquals(200, pem.statusCode());
        assertEquals(List.of(a), Pem.parse(pem.body(), "export"));

        HttpResponse<String> csv = admin.get("/admin/certificates?status=REVOKED&format=csv");
        assertEquals("text/csv; charset=utf-8", csv.headers().firstValue("Content-Type").orElse(""));
        List<String> lines = csv.body().lines().toList();
        assertEquals("serial,enroleeId,profile,status,notBefore,notAfter,issuedAt,subject,subjectAltNames", lines.get(0));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(b.getSerialNumber().toString(16) + ",exp-2,")), csv.body());
        assertTrue(lines.stream().skip(1).allMatch(l -> l.contains(",REVOKED,")), csv.body());

        JsonArray json = new JsonArray(admin.get("/admin/certificates?enrolee=exp-2").body());
        assertEquals(1, json.size());
        assertEquals("REVOKED", json.getJsonObject(0).getString("status"));
    }

    @Test
    void theAuditLogHoldsIssuancesRevocationsAndAdminActionsAndVerifies(@TempDir Path dir) throws Exception {
        String serial = mef.enrolNew(maker, "aud-1", dir).getSerialNumber().toString(16);
        assertEquals(200, revoke(serial, "{\"reason\":\"affiliationChanged\"}").statusCode());

        var events = mef.gateway.store().auditEvents(0, 10_000);
        assertTrue(events.stream().anyMatch(e -> e.type().equals("enrolee.registered") && e.subject().equals("enrolee:aud-1")
                && e.actor().startsWith("operator:")));
        assertTrue(events.stream().anyMatch(e -> e.type().equals("certificate.issued") && e.subject().equals("serial:" + serial)
                && e.actor().equals("enrolee:aud-1")));
        assertTrue(events.stream().anyMatch(e -> e.type().equals("certificate.revoked") && e.subject().equals("serial:" + serial)
                && e.detail().equals("reason=affiliationChanged")));

        HttpResponse<String> verify = new AdminClient(mef.config).get("/admin/audit/verify");
        JsonObject v = new JsonObject(verify.body());
        assertEquals(true, v.getBoolean("intact"), verify.body());
        assertTrue(v.getLong("verifiedEvents") >= events.size());

        // The group commits that wrote them are measured for Prometheus.
        String metrics = new AdminClient(mef.config).get("/metrics").body();
        assertTrue(metrics.contains("mef_store_commit_seconds_count"), "commit latency histogram");
        assertTrue(metrics.contains("mef_store_commit_batch_size_count"), "group commit batch sizes");
    }

    @Test
    void theMefgateCliRevokesExportsAndVerifiesTheAuditLogNamingATamperedEvent(@TempDir Path dir) throws Exception {
        X509Certificate cert = mef.enrolNew(maker, "cli-1", dir);
        String serial = cert.getSerialNumber().toString(16);

        Shell.Result revoked = mefgate(dir, "admin", "revoke", serial, "--reason", "key-compromise");
        assertEquals(0, revoked.exitCode(), revoked.output());
        assertTrue(revoked.output().contains("\"keyCompromise\""), revoked.output());

        Shell.Result export = mefgate(dir, "admin", "list-certs", "--enrolee", "cli-1", "--status", "REVOKED",
                "--format", "pem", "--out", dir.resolve("revoked.pem").toString());
        assertEquals(0, export.exitCode(), export.output());
        assertEquals(List.of(cert), Pem.read(dir.resolve("revoked.pem")));

        Shell.Result intact = mefgate(dir, "audit", "verify");
        assertEquals(0, intact.exitCode(), intact.output());
        assertTrue(intact.output().contains("audit log intact"), intact.output());

        // Someone with database access rewrites history: the CLI names the event and fails.
        long seq = mef.gateway.store().auditEvents(0, 10_000).stream()
                .filter(e -> e.type().equals("certificate.revoked") && e.subject().equals("serial:" + serial))
                .findFirst().orElseThrow().seq();
        String url = mef.config.store().url(mef.config.dataDir());
        sql(url, "UPDATE audit_event SET detail = 'reason=superseded' WHERE seq = " + seq);
        try {
            Shell.Result broken = mefgate(dir, "audit", "verify");
            assertEquals(1, broken.exitCode(), broken.output());
            assertTrue(broken.output().contains("audit log BROKEN at event " + seq), broken.output());
        } finally {
            sql(url, "UPDATE audit_event SET detail = 'reason=keyCompromise' WHERE seq = " + seq);
        }
        assertEquals(0, mefgate(dir, "audit", "verify").exitCode(), "restored, the chain verifies again");
    }

    private static void sql(String url, String statement) throws Exception {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, mef.config.store().user(), mef.config.store().password());
             java.sql.Statement s = c.createStatement()) {
            assertEquals(1, s.executeUpdate(statement));
        }
    }

    /** The operator's CLI, as a process (the same class path as this test, the gateway's main class). */
    private static Shell.Result mefgate(Path dir, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "org.mefgateway.gateway.MefGate", "--config", mef.configFile.toString()));
        command.addAll(List.of(args));
        return Shell.run(dir, command.toArray(String[]::new));
    }

    static void assertRefused(HttpResponse<String> r, int status, String reasonPart) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
        assertTrue(r.body().contains(reasonPart), r.body());
    }
}
