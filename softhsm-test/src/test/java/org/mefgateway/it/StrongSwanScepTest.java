package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.it.CurlOpensslTest.run;
import static org.mefgateway.it.StrongSwanEstTest.pki;
import static org.mefgateway.it.StrongSwanEstTest.uriSan;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * strongSwan's {@code pki} as a SCEP client (RFC 8894; Debian's strongswan-pki 5.9.8), against the
 * SCEP server on the publication listener: {@code pki --scepca} for GetCACert, and {@code pki
 * --scep} for a PKCSReq carrying the challengePassword of the operator's SCEP instruction
 * (TS-0003 8.3.6.3: SCEP has no csrattrs). pki enrols RSA keys only, so the profile allows
 * RSA-2048 with sha256WithRSAEncryption beside P-256, and a renewal is proven by the current
 * certificate alone ({@code reenrolment.challenge: none}), as {@code pki --scep --cert --key} sends it.
 *
 * <p>What pki 5.9.8 needs of the server, seen here: it tests GetCACaps flags with the capability's
 * index instead of its bit (strongSwan issue 1607), so SHA-256 and AES pass its check only when
 * SHA-384 (bit 3, the index of SCEPStandard) is advertised; and it verifies a CertRep only when
 * its SignerInfo names rsaEncryption as the signature algorithm (RFC 5652 allows that or
 * sha256WithRSAEncryption).
 */
class StrongSwanScepTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;

    @BeforeAll
    static void start() throws Exception {
        StrongSwanEstTest.requirePki();
        maker = DeviceMaker.create("Maker strongSwan SCEP CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE
                + "keys: {ec: [P-256], rsaMinBits: 2048}\nsignatureAlgorithms: [ecdsa-with-SHA256, sha256WithRSAEncryption]\n"
                + "reenrolment: {challenge: none}\n"), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    @Test
    void pkiScepcaWritesTheGatewayCaCertificateAndAnRaCertificateItIssued(@TempDir Path dir) throws Exception {
        StrongSwanEstTest.Result r = pki(dir, "--scepca", "--url", scepUrl(), "--caout", "ca.pem", "--raout", "ra.pem", "--outform", "pem");

        r.assertExit(0);
        assertArrayEquals(mef.caCertificate.getEncoded(), Pem.read(dir.resolve("ca.pem")).get(0).getEncoded(), "the CA certificate, byte for byte");
        assertEquals("ra.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "ra.pem").strip(), "the RA certificate chains to the CA");
    }

    @Test
    void pkiScepEnrolsWithTheChallengeOfAScepInstruction(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/scep-pki";
        X509Certificate cert = enrol(dir, "scep-pki", aeId);

        assertEquals("new.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "new.pem").strip());
        assertEquals(run(dir, "openssl", "pkey", "-in", "new.key", "-pubout"),
                run(dir, "openssl", "x509", "-in", "new.pem", "-noout", "-pubkey"), "the certificate is for pki's key");
        assertEquals(List.of("6: " + aeId), PolicyProfilesTest.sans(cert));
        IssuedCertificate row = ledgerRow(cert);
        assertArrayEquals(row.der(), cert.getEncoded(), "pki wrote the certificate the ledger holds");
        assertEquals("scep-pki", row.enroleeId());
    }

    /**
     * RFC 8894 3.3.1.2: {@code pki --scep --cert --key} sends a RenewalReq for a new key, signed with
     * the current certificate and its key instead of a self-signed one and without a challenge; the
     * profile renews on that proof ({@code reenrolment.challenge: none}). The instruction's challenge
     * is spent by then: a PKCSReq without one would be refused.
     */
    @Test
    void pkiScepRenewsWithTheCurrentCertificateAndKeyWithoutAChallenge(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/scep-pki-renewal";
        X509Certificate first = enrol(dir, "scep-pki-renewal", aeId);
        StrongSwanEstTest.Result key = pki(dir, "--gen", "--type", "rsa", "--size", "2048", "--outform", "pem");
        key.assertExit(0);
        Files.writeString(dir.resolve("renewed.key"), key.stdout());

        StrongSwanEstTest.Result r = pki(dir, "--scep", "--url", scepUrl(), "--in", "renewed.key", "--dn", "CN=" + aeId,
                "--san", uriSan(aeId), "--cert", "new.pem", "--key", "new.key", "--cacert-enc", "ra.pem", "--cacert-sig", "ra.pem",
                "--cacert", "ca.pem", "--outform", "pem");

        r.assertExit(0);
        Files.writeString(dir.resolve("renewed.pem"), r.stdout());
        assertEquals("renewed.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "renewed.pem").strip());
        assertEquals(run(dir, "openssl", "pkey", "-in", "renewed.key", "-pubout"),
                run(dir, "openssl", "x509", "-in", "renewed.pem", "-noout", "-pubkey"), "the certificate is for the new key");
        X509Certificate renewed = Pem.read(dir.resolve("renewed.pem")).get(0);
        assertTrue(!renewed.getSerialNumber().equals(first.getSerialNumber()), "a new certificate");
        assertEquals(List.of("6: " + aeId), PolicyProfilesTest.sans(renewed));
        IssuedCertificate row = ledgerRow(renewed);
        assertArrayEquals(row.der(), renewed.getEncoded(), "pki wrote the certificate the ledger holds");
        assertEquals("scep-pki-renewal", row.enroleeId());
    }

    /**
     * Registers {@code id}, has the operator instruct SCEP, fetches ca.pem and ra.pem with pki
     * --scepca and enrols a new RSA key (new.key) with the instruction's challenge: new.pem.
     */
    private static X509Certificate enrol(Path dir, String id, String aeId) throws Exception {
        mef.register(maker.device(id), id, "AE-ID", aeId, 40);
        HttpResponse<String> instructed = admin.postJson("/admin/enrolees/" + id + "/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
        assertEquals(200, instructed.statusCode(), instructed.body());
        JsonObject instruction = new JsonObject(instructed.body());
        assertEquals(scepUrl(), instruction.getString("URI"));
        pki(dir, "--scepca", "--url", scepUrl(), "--caout", "ca.pem", "--raout", "ra.pem", "--outform", "pem").assertExit(0);
        StrongSwanEstTest.Result key = pki(dir, "--gen", "--type", "rsa", "--size", "2048", "--outform", "pem");
        key.assertExit(0);
        Files.writeString(dir.resolve("new.key"), key.stdout());

        StrongSwanEstTest.Result r = pki(dir, "--scep", "--url", instruction.getString("URI"), "--in", "new.key", "--dn", "CN=" + aeId,
                "--san", uriSan(aeId), "--password", instruction.getString("challenge"), "--cacert-enc", "ra.pem", "--cacert-sig", "ra.pem",
                "--cacert", "ca.pem", "--outform", "pem");

        r.assertExit(0);
        Files.writeString(dir.resolve("new.pem"), r.stdout());
        return Pem.read(dir.resolve("new.pem")).get(0);
    }

    private static IssuedCertificate ledgerRow(X509Certificate cert) {
        String serial = cert.getSerialNumber().toString(16);
        return mef.issued().stream().filter(c -> c.serialHex().equals(serial)).findFirst()
                .orElseThrow(() -> new AssertionError("serial " + serial + " is not in the ledger"));
    }

    static String scepUrl() {
        return mef.publicationBase() + "/scep";
    }
}
