package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.ESTService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two CA keys on one token: the default profile signs with the default key, the profile on the
 * label "iot" names the key "iot" (caKey). Each label's cacerts, issuance and renewal use its key.
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

    private static X509Certificate cacerts(String label) throws Exception {
        ESTService est = BcEst.client(mef, null, null, label);
        CACertsResponse response = est.getCACerts();
        X509CertificateHolder[] certs = ESTService.storeToArray(response.getCertificateStore());
        assertEquals(1, certs.length);
        return new JcaX509CertificateConverter().getCertificate(certs[0]);
    }
}
