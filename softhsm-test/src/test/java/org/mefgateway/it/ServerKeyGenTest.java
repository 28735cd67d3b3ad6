package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * serverkeygen (RFC 7030 4.4) for Enrolees that cannot generate keys: the MEF generates the key
 * pair, certifies it under the same policy as simpleenroll, and returns key and certificate as
 * multipart/mixed over the TLS session; the key is not stored. Driven by Bouncy Castle's EST client.
 */
class ServerKeyGenTest {
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker KeyGen CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE,
                "held.yaml", "approval: {required: true}\n"), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void bouncyCastlesClientGetsAServerGeneratedP256KeyAndACertificateForIt() throws Exception {
        DeviceMaker.Device device = maker.device("keygen-1");
        String aeId = "//m2m.example.com/CSE3219/C-KEYGEN-1";
        mef.register(device, "keygen-1", "AE-ID", aeId, 40);
        KeyPair throwaway = DeviceMaker.ecKeys();

        EnrollmentResponse r = BcEst.client(mef, device.keyStore(), DeviceMaker.Device.PASSWORD, null).simpleEnrollWithServersideCreation(
                BcEst.aeCsr(throwaway, aeId, mef.challenge(mef.client(device), "")), null);

        assertTrue(r.isCompleted());
        assertNotNull(r.getPrivateKeyInfo(), "the private key came back");
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(r.getPrivateKeyInfo().getEncoded()));
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(ESTService.storeToArray(r.getStore())[0]);
        cert.verify(mef.caCertificate.getPublicKey());
        assertNotEquals(throwaway.getPublic(), cert.getPublicKey(), "certified the generated key, not the CSR's");
        assertTrue(cert.getPublicKey().toString().contains("secp256r1") || cert.getPublicKey().toString().contains("1.2.840.10045.3.1.7"),
                cert.getPublicKey().toString());
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(key);
        s.update(new byte[] {1, 2, 3});
        byte[] sig = s.sign();
        s.initVerify(cert.getPublicKey());
        s.update(new byte[] {1, 2, 3});
        assertTrue(s.verify(sig), "the returned private key belongs to the certified public key");
        assertEquals(PolicyProfilesTest.sans(cert), List.of("6: " + aeId));
    }

    @Test
    void serverkeygenFollowsTheSamePolicyAsSimpleenrollAndIsNeverHeldForApproval() throws Exception {
        DeviceMaker.Device device = maker.device("keygen-2");
        String aeId = "//m2m.example.com/CSE3219/C-KEYGEN-2";
        mef.register(device, "keygen-2", "AE-ID", aeId, 40);
        HttpClient client = mef.client(device);
        int issued = mef.issued().size();

        HttpResponse<String> wrongSan = TestGateway.post(client, mef.est("/serverkeygen"), "application/pkcs10",
                TestCsr.p256().uri(aeId + "-other").challenge(mef.challenge(client, "")).base64());
        assertEquals(403, wrongSan.statusCode(), wrongSan.body());
        assertTrue(wrongSan.body().startsWith("refused by rule san.registered-identity of profile default"), wrongSan.body());

        HttpResponse<String> held = TestGateway.post(client, mef.est("/held/serverkeygen"), "application/pkcs10",
                TestCsr.p256().uri(aeId).challenge(mef.challenge(client, "")).base64());
        assertEquals(403, held.statusCode(), held.body());
        assertTrue(held.body().startsWith("refused by rule serverkeygen.approval of profile held"), held.body());
        assertEquals(issued, mef.issued().size());
    }

    @Test
    void theMultipartResponseCarriesPkcs8AndCertsOnlyPartsInBase64() throws Exception {
        DeviceMaker.Device device = maker.device("keygen-3");
        String aeId = "//m2m.example.com/CSE3219/C-KEYGEN-3";
        mef.register(device, "keygen-3", "AE-ID", aeId, 40);
        HttpClient client = mef.client(device);

        HttpResponse<String> r = TestGateway.post(client, mef.est("/serverkeygen"), "application/pkcs10",
                TestCsr.p256().uri(aeId).challenge(mef.challenge(client, "")).base64());

        assertEquals(200, r.statusCode(), r.body());
        String type = r.headers().firstValue("Content-Type").orElse("");
        assertTrue(type.startsWith("multipart/mixed; boundary="), type);
        assertEquals("multipart/mixed; boundary=\"est-mef-boundary\"", type, "the boundary quoted (RFC 2046 5.1.1)");
        String boundary = type.substring(type.indexOf('=') + 1).replace("\"", "");
        String[] parts = r.body().split("--" + boundary);
        assertEquals(4, parts.length, r.body());
        assertTrue(parts[1].contains("Content-Type: application/pkcs8\r\n"), parts[1]);
        assertTrue(parts[2].contains("Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n"), parts[2]);
        assertTrue(parts[3].startsWith("--"), "closing delimiter");
        byte[] pkcs8 = Base64.getMimeDecoder().decode(parts[1].substring(parts[1].indexOf("\r\n\r\n") + 4).strip());
        KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    }
}
