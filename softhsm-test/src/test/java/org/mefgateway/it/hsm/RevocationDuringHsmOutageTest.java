package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.TestGateway;

/**
 * A revocation made while the HSM is down reaches the CRL as soon as the CA key signs again, not at
 * the next scheduled refresh ({@code publication.crlRefreshMinutes}, 60): before, the CRL went on
 * without it for up to an hour (and after a restart too) while OCSP already answered revoked.
 * Meanwhile {@code mef_crl_revocations_pending} shows it, and OCSP, which must not serve the old
 * "good", answers 503 + Retry-After rather than 500. The fault is that of {@link TokenFaultTest}:
 * every session of the process on the slot really closed, re-login prevented by withholding the
 * PIN file; giving it back is the HSM coming back. The gateway's clock is not moved, so no
 * refresh falls due: only the re-signing after recovery can list the serial.
 */
class RevocationDuringHsmOutageTest {
    static final String PENDING = "mef_crl_revocations_pending{key=\"default\"} ";

    @Test
    void aRevocationMadeWhileTheHsmIsDownIsInTheCrlOnceTheKeySignsAgainWithoutWaitingForTheRefresh(@TempDir Path dir)
            throws Exception {
        DeviceMaker maker = DeviceMaker.create("Maker Outage CA");
        try (TestGateway mef = TestGateway.start(maker)) {
            X509Certificate cert = mef.enrolNew(maker, "outage-1", dir);
            String serial = cert.getSerialNumber().toString(16);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            HttpClient admin = mef.client(null);
            URI ready = URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + "/health/ready");
            X509CRL crlBefore = crl(http, mef);
            assertEquals(200, ocsp(http, mef, cert).statusCode(), "a 'good' answer signed and held");
            // Not closed: closing would log the whole process out of the token.
            Pkcs11Sessions sessions = new Pkcs11Sessions(org.mefgateway.it.SoftHsm.LIBRARY, Pkcs11Token.open(mef.config.hsm()).slot());

            Path withheld = mef.hsm.pinFile.resolveSibling("user.pin.withheld");
            Files.move(mef.hsm.pinFile, withheld);
            sessions.closeAll();
            HttpResponse<String> revoked = new AdminClient(mef.config).postJson("/admin/certificates/" + serial + "/revoke",
                    "{\"reason\":\"keyCompromise\"}");

            assertEquals(200, revoked.statusCode(), revoked.body());
            JsonObject answer = new JsonObject(revoked.body());
            assertEquals("REVOKED", answer.getString("status"));
            assertFalse(answer.containsKey("crlNumber"), "no CRL could list it: " + answer);
            until(() -> TestGateway.get(admin, ready).statusCode() == 503, "the gateway reports the HSM down");
            assertEquals(List.of(PENDING + "1.0"), pending(metrics(admin, mef)));
            HttpResponse<byte[]> ocspDown = ocsp(http, mef, cert);
            assertEquals(503, ocspDown.statusCode(), "the held 'good' is not served for a revoked certificate, nor a 500");
            assertEquals("10", ocspDown.headers().firstValue("Retry-After").orElse(""), ocspDown.headers().toString());
            X509CRL published = crl(http, mef);
            assertEquals(crlNumber(crlBefore), crlNumber(published), "the CRL published before the fault stays");
            assertEquals(null, published.getRevokedCertificate(cert.getSerialNumber()));

            long restored = System.nanoTime();
            Files.move(withheld, mef.hsm.pinFile);
            until(() -> crl(http, mef).getRevokedCertificate(cert.getSerialNumber()) != null, "the CRL lists the revocation");
            System.out.printf("[crl-after-outage] serial %s listed in the CRL %.1f s after the token came back%n", serial,
                    (System.nanoTime() - restored) / 1e9);

            X509CRL after = crl(http, mef);
            assertTrue(after.getThisUpdate().toInstant().isBefore(crlBefore.getThisUpdate().toInstant().plus(Duration.ofMinutes(60))),
                    "signed long before the 60-minute refresh was due: " + crlBefore.getThisUpdate() + " -> " + after.getThisUpdate());
            assertEquals(BigInteger.ONE.add(crlNumber(crlBefore)), crlNumber(after), "one CRL signed: the one with the revocation");
            assertEquals(java.security.cert.CRLReason.KEY_COMPROMISE, after.getRevokedCertificate(cert.getSerialNumber()).getRevocationReason());
            assertEquals(List.of(PENDING + "0.0"), pending(metrics(admin, mef)));
            HttpResponse<byte[]> ocspUp = ocsp(http, mef, cert);
            assertEquals(200, ocspUp.statusCode());
            BasicOCSPResp basic = (BasicOCSPResp) new OCSPResp(ocspUp.body()).getResponseObject();
            assertTrue(basic.getResponses()[0].getCertStatus() instanceof RevokedStatus, "CRL and OCSP tell the same");
        }
    }


    private static X509CRL crl(HttpClient http, TestGateway mef) throws Exception {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/crl/ca.crl")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new java.io.ByteArrayInputStream(r.body()));
    }

    private static BigInteger crlNumber(X509CRL crl) throws Exception {
        byte[] ext = crl.getExtensionValue(org.bouncycastle.asn1.x509.Extension.cRLNumber.getId());
        return org.bouncycastle.asn1.ASN1Integer.getInstance(
                org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets()).getValue();
    }

    private static HttpResponse<byte[]> ocsp(HttpClient http, TestGateway mef, X509Certificate cert) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(mef.caCertificate), cert.getSerialNumber());
        byte[] request = new OCSPReqBuilder().addRequest(id).build().getEncoded();
        return http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/ocsp")).header("Content-Type", "application/ocsp-request")
                .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static String metrics(HttpClient admin, TestGateway mef) throws Exception {
        HttpResponse<String> r = TestGateway.get(admin, URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + "/metrics"));
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private static List<String> pending(String scrape) {
        return scrape.lines().filter(l -> l.startsWith("mef_crl_revocations_pending{")).toList();
    }

    interface Check {
        boolean holds() throws Exception;
    }

    /** Polls with a deadline (a minute, so a gateway that never recovers fails rather than hangs the test). */
    private static void until(Check check, String what) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!check.holds()) {
            assertTrue(Instant.now().isBefore(deadline), "not within a minute: " + what);
            Thread.sleep(100);
        }
    }
}
