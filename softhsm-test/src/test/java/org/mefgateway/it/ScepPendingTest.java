package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/** A PKCSReq under a profile that requires an operator's approval is answered PENDING (RFC 8894 3.3.2.1), with nothing issued. */
class ScepPendingTest {
    static final String AE_ID = "//m2m.example.com/CSE17/P0001";

    @Test
    void aHeldRequestIsAnsweredPendingWithoutACertificate() throws Exception {
        DeviceMaker maker = DeviceMaker.create("scep-pending-maker");
        try (TestGateway mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml",
                ScepTest.SCEP_PROFILE + "approval: {required: true}\n"), maker)) {
            DeviceMaker.Device device = maker.device("scep-pending");
            mef.register(device, "scep-pending", "AE-ID", AE_ID, List.of("scep"), 40);
            String challenge = mef.challenge(mef.client(device), "/scep");
            KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
            byte[] csr = new TestCsr().keys(keys).subject("CN=" + AE_ID).challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").der();
            HttpClient http = HttpClient.newHttpClient();
            X509Certificate ra = ra(http, mef);
            String transactionId = UUID.randomUUID().toString();
            byte[] nonce = BcScep.nonce();
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/scep?operation=PKIOperation"))
                    .header("Content-Type", "application/x-pki-message")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(BcScep.request("19", csr, ra, BcScep.selfSigned(keys, "scep-pending"),
                            keys.getPrivate(), transactionId, nonce))).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode());
            BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
            assertEquals("3", rep.pkiStatus(), "PENDING");
            assertNull(rep.failInfo());
            assertEquals(transactionId, rep.transactionId());
            assertArrayEquals(nonce, rep.recipientNonce());
            assertNull(rep.signedData().getSignedContent(), "no certificate");
            assertEquals(0, mef.issued().size());
        }
    }

    private static X509Certificate ra(HttpClient http, TestGateway mef) throws Exception {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/scep?operation=GetCACert")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        @SuppressWarnings("unchecked")
        Collection<X509CertificateHolder> holders = new CMSSignedData(r.body()).getCertificates().getMatches(null);
        for (X509CertificateHolder h : holders) {
            X509Certificate c = new JcaX509CertificateConverter().getCertificate(h);
            if (c.getBasicConstraints() < 0) {
                return c;
            }
        }
        throw new AssertionError("no RA certificate");
    }
}
