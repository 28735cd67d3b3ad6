package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.policy.Oids;

/**
 * A profile's per-Enrolee limit (rateLimit.maxIssuancesPerDay) counted by a real gateway over its
 * ledger: the second certificate within 24 hours is refused with 429, Retry-After and the rule,
 * even though the operator instructed the Enrolee again; another Enrolee is not affected; a day
 * later the same Enrolee is issued again.
 */
class PerEnroleeRateLimitTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C-RATE";

    @Test
    void theSecondCertificateWithinADayIs429AndADayLaterItIsIssued() throws Exception {
        DeviceMaker maker = DeviceMaker.create("Rate Maker CA");
        String profile = TestGateway.DEFAULT_PROFILE + "rateLimit: {maxIssuancesPerDay: 1}\n";
        try (TestGateway mef = TestGateway.start(Map.of("default.yaml", profile), maker)) {
            DeviceMaker.Device device = maker.device("rate-device");
            DeviceMaker.Device other = maker.device("rate-other");
            mef.register(device, "ae-rate", "AE-ID", AE_ID, 40);
            mef.register(other, "ae-rate-other", "AE-ID", AE_ID + "-2", 40);
            HttpClient client = mef.client(device);
            AdminClient admin = new AdminClient(mef.config);

            assertEquals(200, enrol(mef, client, AE_ID).statusCode());
            assertEquals(200, admin.postJson("/admin/enrolees/ae-rate/instruct", "{}").statusCode());
            int before = mef.issued().size();

            HttpResponse<String> limited = enrol(mef, client, AE_ID);
            assertEquals(429, limited.statusCode(), limited.body());
            assertTrue(limited.body().contains("rate.per-enrolee"), limited.body());
            assertTrue(limited.headers().firstValue("Retry-After").isPresent(), "429 carries Retry-After");
            assertEquals(before, mef.issued().size(), "nothing issued");

            assertEquals(200, enrol(mef, mef.client(other), AE_ID + "-2").statusCode(), "another Enrolee has its own count");

            mef.clock.advance(Duration.ofHours(25));
            assertEquals(200, enrol(mef, client, AE_ID).statusCode(), "a day later the limit has room again");
        }
    }

    /** csrattrs for a fresh challenge, then simpleenroll with it. */
    private static HttpResponse<String> enrol(TestGateway mef, HttpClient client, String aeId) throws Exception {
        String csr = TestCsr.p256().challenge(mef.challenge(client, "")).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40").base64();
        return TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
    }
}
