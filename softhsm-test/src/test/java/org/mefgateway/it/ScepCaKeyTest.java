package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/**
 * Two CA keys on the token, and the {@code scep} profile names the second one (caKey: iot): SCEP's
 * RA key is made for that CA key at start and certified by it, GetCACert hands out that CA's
 * certificate with it, and a PKCSReq is issued by it.
 */
class ScepCaKeyTest {
    static TestGateway mef;
    static DeviceMaker maker;
    static X509Certificate iotCa;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-iot-maker");
        mef = TestGateway.startWithScep("", Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", "caKey: iot\n" + ScepTest.SCEP_PROFILE),
                List.of("iot"), maker);
        iotCa = mef.gateway.caKeys().signer("iot").orElseThrow().certificate();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void getCaCertHoldsTheScepProfilesCaAndAnRaCertificateItIssued() throws Exception {
        List<X509Certificate> certs = caRaCertificates();
        assertEquals(2, certs.size());
        assertTrue(certs.contains(iotCa), "the iot CA certificate");
        assertFalse(certs.contains(mef.caCertificate), "not the default CA's");
        X509Certificate ra = ra(certs);
        ra.verify(iotCa.getPublicKey());
        assertEquals("CN=Test MEF iot CA SCEP RA", ra.getSubjectX500Principal().getName());

        String objects = SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(), "--token-label", mef.hsm.tokenLabel,
                "--login", "--pin", mef.hsm.pin(), "--list-objects", "--type", "privkey"));
        assertTrue(objects.contains("label:      ca-iot-scep-ra\n"), objects);
    }

    @Test
    void aPkcsReqIsIssuedByTheScepProfilesCaKey() throws Exception {
        X509Certificate ra = ra(caRaCertificates());
        DeviceMaker.Device device = maker.device("scep-iot-1");
        String id = ScepTest.AE_ID + "-iot1";
        mef.register(device, "scep-iot-1", "AE-ID", id, List.of("scep"), 40);
        String challenge = mef.challenge(mef.client(device), "/scep");
        KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        byte[] csr = new TestCsr().keys(keys).subject("CN=" + id).challenge(challenge).uri(id).eku(Oids.SUID_EKU_ARC + ".40").der();
        byte[] message = BcScep.request("19", csr, ra, BcScep.selfSigned(keys, "scep-iot-1"), keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce());

        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(message)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        X509Certificate issued = rep.certificate(keys.getPrivate());
        issued.verify(iotCa.getPublicKey());
        assertEquals(iotCa.getSubjectX500Principal(), issued.getIssuerX500Principal());
    }

    /** GetCRL for the scep profile's CA answers with that CA key's CRL (/crl/iot.crl), not the default key's. */
    @Test
    void getCrlAnswersWithTheScepProfilesCaKeysCrl() throws Exception {
        X509Certificate ra = ra(caRaCertificates());
        KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        byte[] message = BcScep.request("22", BcScep.issuerAndSerialNumber(iotCa, java.math.BigInteger.ONE), ra,
                BcScep.selfSigned(keys, "scep-iot-crl"), keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce());
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(message)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
        assertEquals("0", rep.pkiStatus(), "SUCCESS, failInfo " + rep.failInfo());
        org.bouncycastle.cert.X509CRLHolder crl = rep.crl(keys.getPrivate());
        assertTrue(crl.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder().build(iotCa.getPublicKey())),
                "signed by the iot CA key");
        HttpResponse<byte[]> published = HTTP.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/crl/iot.crl")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        org.junit.jupiter.api.Assertions.assertArrayEquals(published.body(), crl.getEncoded(), "the CRL served at /crl/iot.crl");
    }

    private static X509Certificate ra(List<X509Certificate> certs) {
        return certs.stream().filter(c -> c.getBasicConstraints() < 0).findFirst().orElseThrow();
    }

    private static List<X509Certificate> caRaCertificates() throws Exception {
        return BcScep.caRaCertificates(scep(""));
    }

    private static URI scep(String query) {
        return mef.publicationBase().resolve("/scep" + query);
    }
}
