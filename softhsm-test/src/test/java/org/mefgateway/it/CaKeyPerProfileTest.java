package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CRLReason;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.ESTService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * Two CA keys on one token: the default profile signs with the default key, the profile on the
 * label "iot" names the key "iot" (caKey). Each label's cacerts, issuance and renewal use its key,
 * and each key publishes its own CRL and answers OCSP through its own delegated responder.
 */
class CaKeyPerProfileTest {
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Two Keys CA");
        mef = TestGateway.start(TestDatabase.fromSystemProperty(), Map.of("default.yaml", TestGateway.DEFAULT_PROFILE,
                "iot.yaml", "caKey: iot\nvalidity: {days: 7}\n"), List.of("iot"), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void eachLabelServesAndSignsWithTheCaKeyItsProfileNames() throws Exception {
        X509Certificate defaultCa = cacerts(null);
        X509Certificate iotCa = cacerts("iot");
        assertEquals(mef.caCertificate, defaultCa);
        assertNotEquals(defaultCa.getPublicKey(), iotCa.getPublicKey(), "a second key on the token");
        assertEquals("CN=Test MEF iot CA,O=MEF Gateway Tests", iotCa.getSubjectX500Principal().getName());

        DeviceMaker.Device device = maker.device("two-keys-1");
        String aeId = "//m2m.example.com/CSE3219/C-TWO-KEYS";
        mef.register(device, "two-keys-1", "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> r = TestGateway.post(bootstrap, mef.est("/iot/simpleenroll"), "application/pkcs10",
                TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, "/iot")).base64());
        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = PolicyProfilesTest.certificate(r);
        cert.verify(iotCa.getPublicKey());
        assertEquals(iotCa.getSubjectX500Principal(), cert.getIssuerX500Principal());

        // The certificate of the second key authenticates its own renewal on the same label.
        KeyStore current = KeyStore.getInstance("PKCS12");
        current.load(null, null);
        current.setKeyEntry("current", keys.getPrivate(), "pw".toCharArray(), new Certificate[] {cert});
        HttpClient operational = mef.client(current, "pw".toCharArray());
        HttpResponse<String> renewed = TestGateway.post(operational, mef.est("/iot/simplereenroll"), "application/pkcs10",
                TestCsr.p256().subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(operational, "/iot")).base64());
        assertEquals(200, renewed.statusCode(), renewed.body());
        PolicyProfilesTest.certificate(renewed).verify(iotCa.getPublicKey());
    }

    /**
     * A revoked certificate of the second key is in that key's CRL ({@code /crl/iot.crl}, signed
     * by it) and not in the default key's; OCSP answers it revoked through the iot key's responder
     * (certified by the iot key), and "unauthorized" when asked with the default CA as issuer.
     */
    @Test
    void aRevocationOfTheSecondKeysCertificateIsInThatKeysCrlAndOcspOnly() throws Exception {
        X509Certificate iotCa = cacerts("iot");
        DeviceMaker.Device device = maker.device("two-keys-revoked");
        String aeId = "//m2m.example.com/CSE3219/C-TWO-KEYS-REVOKED";
        mef.register(device, "two-keys-revoked", "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        HttpResponse<String> r = TestGateway.post(bootstrap, mef.est("/iot/simpleenroll"), "application/pkcs10",
                TestCsr.p256().subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, "/iot")).base64());
        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = PolicyProfilesTest.certificate(r);

        HttpResponse<String> revoked = new AdminClient(mef.config).postJson(
                "/admin/certificates/" + cert.getSerialNumber().toString(16) + "/revoke", "{\"reason\":\"keyCompromise\"}");
        assertEquals(200, revoked.statusCode(), revoked.body());

        X509CRL iotCrl = crl("/crl/iot.crl");
        iotCrl.verify(iotCa.getPublicKey());
        assertEquals(CRLReason.KEY_COMPROMISE, iotCrl.getRevokedCertificate(cert.getSerialNumber()).getRevocationReason());
        X509CRL defaultCrl = crl("/crl/ca.crl");
        defaultCrl.verify(mef.caCertificate.getPublicKey());
        assertNull(defaultCrl.getRevokedCertificate(cert.getSerialNumber()));

        BasicOCSPResp basic = (BasicOCSPResp) ocsp(iotCa, cert).getResponseObject();
        X509CertificateHolder responder = basic.getCerts()[0];
        assertTrue(responder.isSignatureValid(new JcaContentVerifierProviderBuilder().build(iotCa)), "certified by the iot key");
        assertTrue(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(responder)));
        assertTrue(basic.getResponses()[0].getCertStatus() instanceof RevokedStatus);
        assertEquals(OCSPResp.UNAUTHORIZED, ocsp(mef.caCertificate, cert).getStatus(), "not a certificate of the default key");
    }

    private static X509CRL crl(String path) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(mef.publicationBase().resolve(path)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), path);
        return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new java.io.ByteArrayInputStream(r.body()));
    }

    private static OCSPResp ocsp(X509Certificate issuer, X509Certificate cert) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(issuer), cert.getSerialNumber());
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(mef.publicationBase().resolve("/ocsp"))
                .header("Content-Type", "application/ocsp-request")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(new OCSPReqBuilder().addRequest(id).build().getEncoded())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return new OCSPResp(r.body());
    }

    private static X509Certificate cacerts(String label) throws Exception {
        ESTService est = BcEst.client(mef, null, null, label);
        CACertsResponse response = est.getCACerts();
        X509CertificateHolder[] certs = ESTService.storeToArray(response.getCertificateStore());
        assertEquals(1, certs.length);
        return new JcaX509CertificateConverter().getCertificate(certs[0]);
    }
}
