package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
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
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.policy.Oids;

/**
 * A PKCSReq under a profile that requires an operator's approval is answered PENDING (RFC 8894
 * 3.3.2.1), with nothing issued; the client polls it with CertPoll (RFC 8894 3.3.3), signed with
 * the same key in the same transaction, and gets PENDING until the operator decides, then the
 * certificate or FAILURE.
 */
class ScepPendingTest {
    static final String AE_ID = "//m2m.example.com/CSE17/P0001";
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static X509Certificate ra;
    static int devices;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-pending-maker");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml",
                ScepTest.SCEP_PROFILE + "approval: {required: true}\n"), maker);
        admin = new AdminClient(mef.config);
        ra = ra();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void aHeldRequestIsAnsweredPendingWithoutACertificate() throws Exception {
        Held device = held();
        assertEquals(0, issuedTo(device).size());
    }

    @Test
    void certPollIsPendingUntilApprovedThenGetsTheCertificateOfTheLedger() throws Exception {
        Held device = held();
        BcScep.CertRep stillPending = certPoll(device, device.keys, device.signer, BcScep.nonce());
        assertEquals("3", stillPending.pkiStatus(), "PENDING before the operator decides");
        assertNull(stillPending.signedData().getSignedContent());

        HttpResponse<String> approved = admin.postJson("/admin/requests/" + heldRequestOf(device.id) + "/approve", "{}");
        assertEquals(200, approved.statusCode(), approved.body());
        byte[] nonce = BcScep.nonce();
        BcScep.CertRep rep = certPoll(device, device.keys, device.signer, nonce);

        assertEquals("3", rep.messageType());
        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        assertEquals(device.transactionId, rep.transactionId());
        assertArrayEquals(nonce, rep.recipientNonce());
        X509Certificate cert = rep.certificate(device.keys.getPrivate());
        assertEquals(device.keys.getPublic(), cert.getPublicKey());
        List<IssuedCertificate> ledger = issuedTo(device);
        assertEquals(1, ledger.size());
        assertEquals(new JsonObject(approved.body()).getString("serial"), cert.getSerialNumber().toString(16));
        assertArrayEquals(ledger.get(0).der(), cert.getEncoded(), "the certificate of the ledger row");
    }

    /**
     * A PKCSReq of a held request sent again (its PENDING was lost; its challenge spent by the
     * first) is answered from the held request: PENDING, then, once approved, the certificate
     * signed at approval, not a second one.
     */
    @Test
    void aRepeatedPkcsReqOfAHeldRequestIsPendingThenGetsTheApprovedCertificate() throws Exception {
        Held device = held();
        assertEquals("3", post(device.pkcsReq(BcScep.nonce())).pkiStatus(), "still PENDING");

        HttpResponse<String> approved = admin.postJson("/admin/requests/" + heldRequestOf(device.id) + "/approve", "{}");
        assertEquals(200, approved.statusCode(), approved.body());
        BcScep.CertRep rep = post(device.pkcsReq(BcScep.nonce()));

        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        assertEquals(new JsonObject(approved.body()).getString("serial"),
                rep.certificate(device.keys.getPrivate()).getSerialNumber().toString(16));
        assertEquals(1, issuedTo(device).size(), "signed once, at approval");
    }

    @Test
    void certPollOfARejectedRequestFailsWithBadRequest() throws Exception {
        Held device = held();
        HttpResponse<String> rejected = admin.postJson("/admin/requests/" + heldRequestOf(device.id) + "/reject",
                "{\"reason\": \"not this device\"}");
        assertEquals(200, rejected.statusCode(), rejected.body());

        assertFailure(certPoll(device, device.keys, device.signer, BcScep.nonce()), "2");
        assertEquals(0, issuedTo(device).size());
    }

    @Test
    void certPollSignedWithAnotherKeyFailsWithBadRequestAndGetsNothingOnceApproved() throws Exception {
        Held device = held();
        assertEquals(200, admin.postJson("/admin/requests/" + heldRequestOf(device.id) + "/approve", "{}").statusCode());
        KeyPair other = rsa();

        // The same transactionID and subject, signed by someone else: nothing matches that key.
        assertFailure(certPoll(device, other, BcScep.selfSigned(other, "intruder"), BcScep.nonce()), "2");
        assertEquals(1, issuedTo(device).size(), "only the approval issued");
    }

    @Test
    void certPollOfATransactionNeverHeldFailsWithBadRequest() throws Exception {
        Held device = held();
        Held unknown = new Held(device.id, device.keys, device.signer, UUID.randomUUID().toString(), device.csr);
        assertFailure(certPoll(unknown, device.keys, device.signer, BcScep.nonce()), "2");
    }

    @Test
    void aPkcsReqSignedWithAKeyOtherThanTheCsrsFailsWithBadRequestAndHoldsNothing() throws Exception {
        String name = "scep-pending-" + (++devices);
        DeviceMaker.Device device = maker.device(name);
        String id = AE_ID + "-" + devices;
        mef.register(device, name, "AE-ID", id, List.of("scep"), 40);
        KeyPair keys = rsa();
        KeyPair signing = rsa();
        byte[] csr = new TestCsr().keys(keys).subject("CN=" + id).challenge(mef.challenge(mef.client(device), "/scep")).uri(id)
                .eku(Oids.SUID_EKU_ARC + ".40").der();

        assertFailure(post(BcScep.request("19", csr, ra, BcScep.selfSigned(signing, name), signing.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())), "2");
        HttpResponse<String> r = admin.get("/admin/requests?status=PENDING");
        assertEquals(-1, r.body().indexOf("\"" + name + "\""), r.body());
    }

    /** A registered device whose PKCSReq was answered PENDING: its key, its self-signed signer certificate, the transaction. */
    private record Held(String id, KeyPair keys, X509Certificate signer, String transactionId, byte[] csr) {
        /** The device's PKCSReq again, in its transaction, with a new senderNonce. */
        byte[] pkcsReq(byte[] nonce) throws Exception {
            return BcScep.request("19", csr, ra, signer, keys.getPrivate(), transactionId, nonce);
        }
    }

    private static Held held() throws Exception {
        String name = "scep-pending-" + (++devices);
        DeviceMaker.Device device = maker.device(name);
        String id = AE_ID + "-" + devices;
        mef.register(device, name, "AE-ID", id, List.of("scep"), 40);
        String challenge = mef.challenge(mef.client(device), "/scep");
        KeyPair keys = rsa();
        byte[] csr = new TestCsr().keys(keys).subject("CN=" + id).challenge(challenge).uri(id).eku(Oids.SUID_EKU_ARC + ".40").der();
        X509Certificate signer = BcScep.selfSigned(keys, name);
        String transactionId = UUID.randomUUID().toString();
        byte[] nonce = BcScep.nonce();
        BcScep.CertRep rep = post(BcScep.request("19", csr, ra, signer, keys.getPrivate(), transactionId, nonce));
        assertEquals("3", rep.pkiStatus(), "PENDING");
        assertNull(rep.failInfo());
        assertEquals(transactionId, rep.transactionId());
        assertArrayEquals(nonce, rep.recipientNonce());
        assertNull(rep.signedData().getSignedContent(), "no certificate");
        return new Held(name, keys, signer, transactionId, csr);
    }

    /** RFC 8894 3.3.3: CertPoll (messageType 20) of the device's transaction, signed with {@code keys} under {@code signer}. */
    private static BcScep.CertRep certPoll(Held device, KeyPair keys, X509Certificate signer, byte[] nonce) throws Exception {
        return post(BcScep.request("20", BcScep.issuerAndSubject(mef.caCertificate, "CN=" + AE_ID), ra, signer, keys.getPrivate(),
                device.transactionId, nonce));
    }

    private static List<IssuedCertificate> issuedTo(Held device) {
        return mef.issued().stream().filter(c -> c.enroleeId().equals(device.id)).toList();
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

    private static void assertFailure(BcScep.CertRep rep, String failInfo) {
        assertEquals("3", rep.messageType());
        assertEquals("2", rep.pkiStatus(), "FAILURE");
        assertEquals(failInfo, rep.failInfo());
        assertNull(rep.signedData().getSignedContent(), "no certificate");
    }

    private static KeyPair rsa() throws Exception {
        return TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
    }

    private static BcScep.CertRep post(byte[] message) throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/scep?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(message)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
        return BcScep.CertRep.read(r.body(), ra);
    }

    private static X509Certificate ra() throws Exception {
        return BcScep.raCertificate(mef.publicationBase().resolve("/scep"));
    }
}
