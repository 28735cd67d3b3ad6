package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.Test;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.TestCsr;
import org.mefgateway.it.TestGateway;
import org.mefgateway.policy.Oids;

/**
 * An Enrolee enrols while the gateway's HSM is out of service (every session of the process on
 * the slot closed, re-login prevented by withholding the PIN file, as in {@link TokenFaultTest}):
 * it gets 503 with Retry-After and a text/plain reason, nothing is issued and its challenge is not
 * used up; once the token is back, the very same request is issued, without a restart.
 */
class EnrolmentDuringHsmOutageTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C-OUTAGE";

    @Test
    void anEnrolmentDuringTheOutageIs503AndTheSameRequestIsIssuedOnceTheTokenIsBack() throws Exception {
        DeviceMaker maker = DeviceMaker.create("Outage Maker CA");
        try (TestGateway mef = TestGateway.start(maker)) {
            DeviceMaker.Device device = maker.device("outage-device");
            mef.register(device, "ae-outage", "AE-ID", AE_ID, 40);
            HttpClient client = mef.client(device);
            String challenge = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
            String csr = TestCsr.p256().challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64();
            int before = mef.issued().size();

            // Not closed: closing would log the whole process out of the token.
            long slot = Pkcs11Token.open(mef.config.hsm()).slot();
            Path pinFile = mef.hsm.pinFile;
            Path withheld = pinFile.resolveSibling("user.pin.withheld");
            Files.move(pinFile, withheld);
            new Pkcs11Sessions(org.mefgateway.it.SoftHsm.LIBRARY, slot).closeAll();

            HttpResponse<String> refused = enrol(mef, client, csr);
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.headers().firstValue("Retry-After").isPresent(), "503 carries Retry-After");
            assertTrue(refused.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), "a reason, not a certificate");
            assertEquals(before, mef.issued().size(), "nothing issued while the HSM is out");

            Files.move(withheld, pinFile);
            HttpResponse<String> issued = enrol(mef, client, csr);
            for (int i = 0; i < 120 && issued.statusCode() == 503; i++) {
                Thread.sleep(500);
                issued = enrol(mef, client, csr);
            }
            assertEquals(200, issued.statusCode(), "the same request, with the same challenge, once the token is back: " + issued.body());
            byte[] der = new CMSSignedData(Base64.getMimeDecoder().decode(issued.body())).getCertificates().getMatches(null)
                    .iterator().next().getEncoded();
            assertTrue(mef.issued().stream().anyMatch(c -> java.util.Arrays.equals(c.der(), der)), "the certificate is in the ledger");
            assertEquals(before + 1, mef.issued().size(), "exactly one certificate");
        }
    }

    private static HttpResponse<String> enrol(TestGateway mef, HttpClient client, String csr) throws Exception {
        return TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
    }
}
