package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * Re-enrolment (RFC 7030 4.2.2) with the certificate being renewed, deferred issuance with
 * operator approval (RFC 7030 4.2.3), and the operator's MEF Client Commands (TS-0003 8.3.9.7),
 * through a real gateway, with our HTTPS client and with Bouncy Castle's EST client.
 */
class ReenrolmentAndApprovalTest {
    static final char[] PASSWORD = "operational".toCharArray();

    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Renewal CA");
        mef = TestGateway.start(Map.of(
                "default.yaml", TestGateway.DEFAULT_PROFILE,
                "held.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 2}\n",
                "samekey.yaml", "validity: {days: 7}\nreenrolment: {allowRekey: false, renewalWindowDays: 0}\n",
                "window.yaml", "validity: {days: 7}\nreenrolment: {renewalWindowDays: 2}\n"), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** A registered Enrolee with a certificate issued on {@code label}, as a key store for TLS. */
    record Operational(DeviceMaker.Device device, String id, String aeId, KeyPair keys, X509Certificate cert) {
        KeyStore keyStore() throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("current", keys.getPrivate(), PASSWORD, new Certificate[] {cert});
            return ks;
        }
    }

    static HttpResponse<String> post(HttpClient client, String path, String csrBase64) throws Exception {
        return TestGateway.post(client, mef.est(path), "application/pkcs10", csrBase64);
    }

    static Operational enrolled(String label) throws Exception {
        int i = ++n;
        DeviceMaker.Device device = maker.device("renew-" + i);
        String aeId = "//m2m.example.com/CSE3219/C-RENEW-" + i;
        mef.register(device, "renew-" + i, "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> r = post(bootstrap, label + "/simpleenroll",
                TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, label)).base64());
        assertEquals(200, r.statusCode(), r.body());
        return new Operational(device, "renew-" + i, aeId, keys, PolicyProfilesTest.certificate(r));
    }

    @Test
    void theCurrentCertificateRenewsItselfForANewKeyWithTheSameNamesWithoutANewInstruction() throws Exception {
        Operational current = enrolled("");
        HttpClient client = mef.client(current.keyStore(), PASSWORD);
        KeyPair next = DeviceMaker.ecKeys();

        HttpResponse<String> r = post(client, "/simplereenroll", TestCsr.p256().keys(next).subject("CN=" + current.aeId())
                .uri(current.aeId()).challenge(mef.challenge(client, "")).base64());

        assertEquals(200, r.statusCode(), r.body());
        X509Certificate renewed = PolicyProfilesTest.certificate(r);
        assertEquals(current.cert().getSubjectX500Principal(), renewed.getSubjectX500Principal());
        assertEquals(PolicyProfilesTest.sans(current.cert()), PolicyProfilesTest.sans(renewed));
        assertEquals(next.getPublic(), renewed.getPublicKey());
        assertNotEquals(current.cert().getSerialNumber(), renewed.getSerialNumber());
        assertTrue(mef.issued().stream().filter(c -> c.enroleeId().equals(current.id())).count() == 2, "both in the ledger");
        JsonObject registration = enrolee(current.id());
        assertEquals("NO_MORE_COMMANDS", registration.getString("command"), "renewal needs no instruction and consumes none");
        assertEquals("OK", awaitLastResult(current.id(), "OK"));
    }

    @Test
    void reenrolmentRefusalsNameTheirRuleAndIssueNothing() throws Exception {
        Operational current = enrolled("");
        Operational sameKeyOnly = enrolled("/samekey");
        Operational early = enrolled("/window");
        HttpClient operational = mef.client(current.keyStore(), PASSWORD);
        HttpClient bootstrap = mef.client(current.device());
        int issued = mef.issued().size();

        HttpResponse<String> otherSan = post(operational, "/simplereenroll", TestCsr.p256().subject("CN=" + current.aeId())
                .uri(current.aeId() + "-other").challenge(mef.challenge(operational, "")).base64());
        assertRefused(otherSan, "reenrol.same-names", "default");

        HttpResponse<String> withBootstrap = post(bootstrap, "/simplereenroll", TestCsr.p256().subject("CN=" + current.aeId())
                .uri(current.aeId()).base64());
        assertRefused(withBootstrap, "reenrol.current-certificate", "default");

        HttpResponse<String> enrolWithCurrent = post(operational, "/simpleenroll", TestCsr.p256().subject("CN=" + current.aeId())
                .uri(current.aeId()).challenge(mef.challenge(operational, "")).base64());
        assertRefused(enrolWithCurrent, "enrol.bootstrap-certificate", "default");

        HttpClient sameKeyClient = mef.client(sameKeyOnly.keyStore(), PASSWORD);
        HttpResponse<String> rekey = post(sameKeyClient, "/samekey/simplereenroll", TestCsr.p256().subject("CN=" + sameKeyOnly.aeId())
                .uri(sameKeyOnly.aeId()).challenge(mef.challenge(sameKeyClient, "/samekey")).base64());
        assertRefused(rekey, "reenrol.rekey", "samekey");

        HttpClient earlyClient = mef.client(early.keyStore(), PASSWORD);
        HttpResponse<String> tooEarly = post(earlyClient, "/window/simplereenroll", TestCsr.p256().subject("CN=" + early.aeId())
                .uri(early.aeId()).challenge(mef.challenge(earlyClient, "/window")).base64());
        assertRefused(tooEarly, "reenrol.window", "window");

        assertEquals(issued, mef.issued().size());
        // Renewal with the same key is what samekey allows.
        HttpResponse<String> sameKey = post(sameKeyClient, "/samekey/simplereenroll", TestCsr.p256().keys(sameKeyOnly.keys())
                .subject("CN=" + sameKeyOnly.aeId()).uri(sameKeyOnly.aeId()).challenge(mef.challenge(sameKeyClient, "/samekey")).base64());
        assertEquals(200, sameKey.statusCode(), sameKey.body());
    }

    @Test
    void aRevokedCertificateCannotRenewItself() throws Exception {
        Operational current = enrolled("");
        HttpResponse<String> revoked = admin.postJson("/admin/certificates/" + current.cert().getSerialNumber().toString(16)
                + "/revoke", "{\"reason\":\"keyCompromise\"}");
        assertEquals(200, revoked.statusCode(), revoked.body());
        HttpClient client = mef.client(current.keyStore(), PASSWORD);
        int issued = mef.issued().size();

        HttpResponse<String> attrs = TestGateway.get(client, mef.est("/csrattrs"));
        HttpResponse<String> renewal = post(client, "/simplereenroll", TestCsr.p256().subject("CN=" + current.aeId())
                .uri(current.aeId()).base64());

        assertEquals(403, attrs.statusCode(), attrs.body());
        assertEquals(403, renewal.statusCode(), renewal.body());
        assertTrue(renewal.body().contains("is revoked: enrol again with the bootstrap credential"), renewal.body());
        assertEquals(issued, mef.issued().size());
    }

    @Test
    void bouncyCastlesEstClientRenewsWithSimpleReenroll() throws Exception {
        Operational current = enrolled("");
        ESTService est = BcEst.client(mef, current.keyStore(), PASSWORD, null);
        String challenge = mef.challenge(mef.client(current.keyStore(), PASSWORD), "");

        EnrollmentResponse response = est.simpleEnroll(true, BcEst.aeCsr(DeviceMaker.ecKeys(), current.aeId(), challenge), null);

        assertTrue(response.isCompleted());
        X509Certificate renewed = new JcaX509CertificateConverter()
                .getCertificate(ESTService.storeToArray(response.getStore())[0]);
        assertEquals(PolicyProfilesTest.sans(current.cert()), PolicyProfilesTest.sans(renewed));
        renewed.verify(mef.caCertificate.getPublicKey());
    }

    @Test
    void aHeldRequestAnswers202UntilTheOperatorApprovesThenTheSameRequestGetsTheCertificate() throws Exception {
        DeviceMaker.Device device = maker.device("held-1");
        String aeId = "//m2m.example.com/CSE3219/C-HELD-1";
        mef.register(device, "held-1", "AE-ID", aeId, 40);
        HttpClient client = mef.client(device);
        String csr = TestCsr.p256().subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(client, "/held")).base64();
        int issued = mef.issued().size();

        HttpResponse<String> first = post(client, "/held/simpleenroll", csr);
        assertEquals(202, first.statusCode(), first.body());
        assertEquals("2", first.headers().firstValue("Retry-After").orElse(""));
        assertEquals("", first.body(), "no body: RFC 7030 4.2.3 defines none and Bouncy Castle's client fails on one");
        assertEquals(202, post(client, "/held/simpleenroll", csr).statusCode(), "the repeat is still held");
        assertEquals(issued, mef.issued().size(), "nothing signed before approval");

        String id = heldRequestOf("held-1");
        HttpResponse<String> approved = admin.postJson("/admin/requests/" + id + "/approve", "{}");
        assertEquals(200, approved.statusCode(), approved.body());
        assertEquals(409, admin.postJson("/admin/requests/" + id + "/approve", "{}").statusCode(), "approved once only");

        HttpResponse<String> repeat = post(client, "/held/simpleenroll", csr);
        assertEquals(200, repeat.statusCode(), repeat.body());
        X509Certificate cert = PolicyProfilesTest.certificate(repeat);
        assertEquals(new JsonObject(approved.body()).getString("serial"), cert.getSerialNumber().toString(16));
        assertArrayEquals(cert.getEncoded(), PolicyProfilesTest.certificate(post(client, "/held/simpleenroll", csr)).getEncoded(),
                "asking again returns the same certificate, not a new one");
        assertEquals(issued + 1, mef.issued().size());
    }

    @Test
    void aRejectedRequestIsRefusedWithTheOperatorsReasonAndIssuesNothing() throws Exception {
        DeviceMaker.Device device = maker.device("held-2");
        String aeId = "//m2m.example.com/CSE3219/C-HELD-2";
        mef.register(device, "held-2", "AE-ID", aeId, 40);
        HttpClient client = mef.client(device);
        String csr = TestCsr.p256().subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(client, "/held")).base64();
        assertEquals(202, post(client, "/held/simpleenroll", csr).statusCode());
        int issued = mef.issued().size();

        HttpResponse<String> rejected = admin.postJson("/admin/requests/" + heldRequestOf("held-2") + "/reject",
                "{\"reason\":\"device not in the roll-out plan\"}");
        assertEquals(200, rejected.statusCode(), rejected.body());

        HttpResponse<String> repeat = post(client, "/held/simpleenroll", csr);
        assertRefused(repeat, "approval.rejected", "held");
        assertTrue(repeat.body().contains("device not in the roll-out plan"), repeat.body());
        assertEquals(issued, mef.issued().size());
    }

    @Test
    void bouncyCastlesEstClientSeesTheDeferralAndCompletesAfterApproval() throws Exception {
        DeviceMaker.Device device = maker.device("held-bc");
        String aeId = "//m2m.example.com/CSE3219/C-HELD-BC";
        mef.register(device, "held-bc", "AE-ID", aeId, 40);
        ESTService est = BcEst.client(mef, device.keyStore(), DeviceMaker.Device.PASSWORD, "held");
        PKCS10CertificationRequest csr = BcEst.aeCsr(DeviceMaker.ecKeys(), aeId, mef.challenge(mef.client(device), "/held"));

        EnrollmentResponse held = est.simpleEnroll(false, csr, null);
        assertFalse(held.isCompleted(), "202 is not a completed enrolment");
        assertTrue(held.getNotBefore() > System.currentTimeMillis(), "BC read Retry-After as the time to retry");

        assertEquals(200, admin.postJson("/admin/requests/" + heldRequestOf("held-bc") + "/approve", "{}").statusCode());
        EnrollmentResponse done = est.simpleEnroll(false, csr, null);
        assertTrue(done.isCompleted());
        assertEquals(1, ESTService.storeToArray(done.getStore()).length);
    }

    @Test
    void theOperatorReinstructsAnEnroleeForASecondCertificateAndRemovesItLater() throws Exception {
        Operational first = enrolled("");
        HttpClient bootstrap = mef.client(first.device());
        assertEquals(403, TestGateway.get(bootstrap, mef.est("/csrattrs")).statusCode(), "no command pending after issuance");

        HttpResponse<String> instructed = admin.postJson("/admin/enrolees/" + first.id() + "/instruct", "{}");
        assertEquals(200, instructed.statusCode(), instructed.body());
        JsonObject command = new JsonObject(TestGateway.get(bootstrap, mef.mefBase().resolve("/mef/command")).body());
        assertEquals("CERT_PROV", command.getString("command"));
        HttpResponse<String> second = post(bootstrap, "/simpleenroll", TestCsr.p256().subject("CN=" + first.aeId())
                .uri(first.aeId()).challenge(mef.challenge(bootstrap, "")).base64());
        assertEquals(200, second.statusCode(), second.body());

        assertEquals(204, admin.delete("/admin/enrolees/" + first.id()).statusCode());
        assertEquals(403, TestGateway.get(bootstrap, mef.est("/csrattrs")).statusCode(), "no longer registered");
        assertEquals(404, admin.postJson("/admin/enrolees/" + first.id() + "/instruct", "{}").statusCode());
        assertTrue(mef.issued().stream().filter(c -> c.enroleeId().equals(first.id())).count() == 2,
                "its certificates stay in the ledger");
    }

    @Test
    void aRefusedFirstEnrolmentIsRecordedAsAClientErrorOfTheCommand() throws Exception {
        DeviceMaker.Device device = maker.device("result-1");
        String aeId = "//m2m.example.com/CSE3219/C-RESULT-1";
        mef.register(device, "result-1", "AE-ID", aeId, 40);
        HttpClient client = mef.client(device);

        assertEquals(403, post(client, "/simpleenroll", TestCsr.p256().uri(aeId + "-wrong").challenge(mef.challenge(client, ""))
                .base64()).statusCode());

        assertEquals("CERT_PROV_CLIENT_ERROR", awaitLastResult("result-1", "CERT_PROV_CLIENT_ERROR"));
        assertEquals("CERT_PROV", enrolee("result-1").getString("command"), "a refusal leaves the command pending");
    }

    private static void assertRefused(HttpResponse<String> r, String rule, String profile) {
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("refused by rule " + rule + " of profile " + profile + ": "), r.body());
    }

    /**
     * The Enrolee's lastResult once it is {@code expected}, or what it is after 10 s: the gateway
     * records the command result after the answer, in a write of its own, which on PostgreSQL
     * (synchronous_commit and fsync on) often ends after the client has read the answer.
     */
    private static String awaitLastResult(String id, String expected) throws Exception {
        String result = enrolee(id).getString("lastResult");
        for (int i = 0; i < 200 && !expected.equals(result); i++) {
            Thread.sleep(50);
            result = enrolee(id).getString("lastResult");
        }
        return result;
    }

    private static JsonObject enrolee(String id) throws Exception {
        JsonArray list = new JsonArray(admin.get("/admin/enrolees").body());
        for (int i = 0; i < list.size(); i++) {
            if (list.getJsonObject(i).getString("id").equals(id)) {
                return list.getJsonObject(i);
            }
        }
        throw new AssertionError("no Enrolee " + id);
    }

    private static String heldRequestOf(String enroleeId) throws Exception {
        HttpResponse<String> r = admin.get("/admin/requests?status=PENDING");
        assertEquals(200, r.statusCode(), r.body());
        JsonArray list = new JsonArray(r.body());
        for (int i = 0; i < list.size(); i++) {
            if (list.getJsonObject(i).getString("enroleeId").equals(enroleeId)) {
                return list.getJsonObject(i).getString("id");
            }
        }
        throw new AssertionError("no held request of " + enroleeId + " in " + r.body());
    }
}
