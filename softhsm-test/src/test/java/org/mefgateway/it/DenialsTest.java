package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/**
 * Every refusal the foundation promises: the right 4xx with a text/plain reason, and nothing
 * issued. Requests are made with the JDK's HTTP client and CSRs built by the test with Bouncy
 * Castle, not with our Enrolee.
 */
class DenialsTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C0001";
    static DeviceMaker maker;
    static TestGateway mef;
    static DeviceMaker.Device other;
    static int registrations;

    /** A freshly registered device per test: one instruction to enrol, one certificate. */
    HttpClient deviceClient;
    int issuedBefore;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Denials Maker CA");
        mef = TestGateway.start(maker);
        other = maker.device("other-device");
        mef.register(other, "ae-other", "AE-ID", "//m2m.example.com/CSE3219/C0002", 40);
    }

    @BeforeEach
    void registerDevice() throws Exception {
        DeviceMaker.Device device = maker.device("denials-device-" + ++registrations);
        mef.register(device, "ae-denials-" + registrations, "AE-ID", AE_ID, 40);
        deviceClient = mef.client(device);
        issuedBefore = mef.issued().size();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void bootstrapCertificateGetsNoSecondCertificateOnceTheCommandIsDone() throws Exception {
        String first = mef.challenge(deviceClient, "");
        String second = mef.challenge(deviceClient, "");
        assertEquals(200, enrol(deviceClient, valid(first).base64()).statusCode());
        issuedBefore++;

        // A challenge fetched before the issuance does not buy a second certificate either.
        assertRefused(enrol(deviceClient, valid(second).base64()), 403, "no CERT_PROV command is pending");
        assertRefused(TestGateway.get(deviceClient, mef.est("/csrattrs")), 403, "no CERT_PROV command is pending");
    }

    private HttpResponse<String> enrol(HttpClient client, String body) throws Exception {
        return TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", body);
    }

    private TestCsr valid(String challenge) throws Exception {
        return TestCsr.p256().subject("CN=" + AE_ID).challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40");
    }

    /** The status, a text/plain reason that mentions {@code reasonPart}, and no new certificate. */
    private void assertRefused(HttpResponse<String> r, int status, String reasonPart) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
        assertTrue(r.body().contains(reasonPart), "reason '" + r.body().strip() + "' should mention '" + reasonPart + "'");
        assertFalse(r.body().contains("Exception"), "no stack trace or exception name to the client: " + r.body());
        assertEquals(issuedBefore, mef.issued().size(), "nothing issued");
    }

    @Test
    void reusedChallengeIsRefusedAfterOneCertificate() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        assertEquals(200, enrol(deviceClient, valid(challenge).base64()).statusCode());
        issuedBefore++;

        // The command is done, which refuses before the challenge is even looked at; the
        // challenge's own single use is proven by the race below and by StoreTest.
        assertRefused(enrol(deviceClient, valid(challenge).base64()), 403, "no CERT_PROV command is pending");
    }

    @Test
    void twoCsrsRacingWithOneChallengeGetOneCertificate() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        String a = valid(challenge).base64();
        String b = valid(challenge).base64();

        var first = deviceClient.sendAsync(request(a), HttpResponse.BodyHandlers.ofString());
        var second = deviceClient.sendAsync(request(b), HttpResponse.BodyHandlers.ofString());
        List<HttpResponse<String>> responses = List.of(first.get(), second.get());

        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 200).count(), responses.toString());
        HttpResponse<String> loser = responses.stream().filter(r -> r.statusCode() != 200).findFirst().orElseThrow();
        assertEquals(403, loser.statusCode(), loser.body());
        assertEquals(issuedBefore + 1, mef.issued().size(), "exactly one certificate");
    }

    private java.net.http.HttpRequest request(String body) {
        return java.net.http.HttpRequest.newBuilder(mef.est("/simpleenroll")).header("Content-Type", "application/pkcs10")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build();
    }

    @Test
    void expiredChallengeIsRefused() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        mef.clock.advance(Duration.ofSeconds(301));

        assertRefused(enrol(deviceClient, valid(challenge).base64()), 403, "expired");
    }

    @Test
    void challengeIssuedToAnotherEnroleeIsRefused() throws Exception {
        String othersChallenge = mef.challenge(mef.client(other), "");

        assertRefused(enrol(deviceClient, valid(othersChallenge).base64()), 403, "another Enrolee");
    }

    @Test
    void unknownChallengeIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, valid("00112233445566778899aabbccddeeff").base64()), 403, "challenge");
    }

    @Test
    void csrWithoutChallengeIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, valid(null).base64()), 403, "challengePassword");
    }

    @Test
    void sanOtherThanTheRegisteredIdentityIsRefusedAndTheChallengeStaysUsable() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        TestCsr wrongSan = TestCsr.p256().subject("CN=" + AE_ID).challenge(challenge).uri("//m2m.example.com/CSE3219/C6666");

        assertRefused(enrol(deviceClient, wrongSan.base64()), 403, "C6666");
        // A refusal changes nothing: the challenge was not consumed.
        assertEquals(200, enrol(deviceClient, valid(challenge).base64()).statusCode());
    }

    @Test
    void sanAsDnsNameForAnAeIdIsRefused() throws Exception {
        TestCsr dnsSan = TestCsr.p256().subject("CN=" + AE_ID).challenge(mef.challenge(deviceClient, "")).dns("m2m.example.com");

        assertRefused(enrol(deviceClient, dnsSan.base64()), 403, "subjectAltName");
    }

    @Test
    void ekuOutsideTheEnroleesSuidsIsRefused() throws Exception {
        TestCsr csr = valid(mef.challenge(deviceClient, "")).eku(Oids.SUID_EKU_ARC + ".45");

        assertRefused(enrol(deviceClient, csr.base64()), 403, Oids.SUID_EKU_ARC + ".45");
    }

    @Test
    void serverAuthEkuIsRefused() throws Exception {
        TestCsr csr = valid(mef.challenge(deviceClient, "")).eku("1.3.6.1.5.5.7.3.1");

        assertRefused(enrol(deviceClient, csr.base64()), 403, "1.3.6.1.5.5.7.3.1");
    }

    @Test
    void caRequestIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, valid(mef.challenge(deviceClient, "")).ca().base64()), 403, "CA");
    }

    @Test
    void rsaKeyIsRefused() throws Exception {
        KeyPair rsa = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        TestCsr csr = valid(mef.challenge(deviceClient, "")).keys(rsa);

        assertRefused(enrol(deviceClient, csr.base64()), 403, "not allowed");
    }

    @Test
    void p384KeyIsRefused() throws Exception {
        KeyPair p384 = TestCsr.keys("EC", new ECGenParameterSpec("secp384r1"));
        TestCsr csr = valid(mef.challenge(deviceClient, "")).keys(p384);

        assertRefused(enrol(deviceClient, csr.base64()), 403, "secp384r1");
    }

    @Test
    void csrWhoseSignatureDoesNotVerifyIsRefused() throws Exception {
        byte[] der = valid(mef.challenge(deviceClient, "")).der();
        der[der.length - 5] ^= 0x01; // inside the signature value

        assertRefused(enrol(deviceClient, Base64.getEncoder().encodeToString(der)), 400, "signature");
    }

    @Test
    void bodyThatIsNotBase64IsRefused() throws Exception {
        assertRefused(enrol(deviceClient, "this is *not* base64!"), 400, "base64");
    }

    @Test
    void base64ThatIsNotAPkcs10RequestIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, Base64.getEncoder().encodeToString("hello, MEF".getBytes())), 400, "DER");
    }

    @Test
    void emptyBodyIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, ""), 400, "empty");
    }

    @Test
    void wrongContentTypeIsRefused() throws Exception {
        HttpResponse<String> r = TestGateway.post(deviceClient, mef.est("/simpleenroll"), "application/json",
                valid(mef.challenge(deviceClient, "")).base64());

        assertRefused(r, 415, "application/pkcs10");
    }

    @Test
    void oversizeBodyIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, "A".repeat(200_000)), 413, "too large");
    }

    @Test
    void noClientCertificateIsUnauthenticated() throws Exception {
        HttpClient anonymous = mef.client(null);

        assertRefused(TestGateway.get(anonymous, mef.est("/csrattrs")), 401, "client certificate");
        assertRefused(enrol(anonymous, valid("00112233445566778899aabbccddeeff").base64()), 401, "client certificate");
    }

    @Test
    void bootstrapCertificateOfATrustedMakerThatWasNeverRegisteredIsRefused() throws Exception {
        HttpClient unregistered = mef.client(maker.device("never-registered"));

        assertRefused(TestGateway.get(unregistered, mef.est("/csrattrs")), 403, "not registered");
        assertRefused(enrol(unregistered, valid("00112233445566778899aabbccddeeff").base64()), 403, "not registered");
        assertRefused(TestGateway.get(unregistered, mef.mefBase().resolve("/mef/command")), 403, "not registered");
    }

    @Test
    void bootstrapCertificateFromAnUntrustedMakerFailsTheTlsHandshake() throws Exception {
        HttpClient stranger = mef.client(DeviceMaker.create("Unknown Maker CA").device("stranger"), true);

        assertThrows(IOException.class, () -> TestGateway.get(stranger, mef.est("/csrattrs")));
        assertEquals(issuedBefore, mef.issued().size());
    }

    @Test
    void unknownPathAndWrongMethodAreRefused() throws Exception {
        assertRefused(TestGateway.get(deviceClient, mef.est("/fullcmc")), 404, "no such resource");
        assertRefused(TestGateway.post(deviceClient, mef.est("/cacerts"), "application/pkcs10", "AAAA"), 405, "not allowed");
    }
}
