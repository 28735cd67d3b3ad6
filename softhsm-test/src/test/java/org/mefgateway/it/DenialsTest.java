package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.policy.Oids;

/**
 * Every refusal the foundation promises: the right 4xx with a text/plain reason, and nothing
 * issued. A refusal by policy names its rule ({@code refused by rule <rule> of profile default:
 * ...}), and each test asserts exactly that rule, so that one refusal is not mistaken for another
 * (a spent command for a spent challenge). Requests are made with the JDK's HTTP client and CSRs
 * built by the test with Bouncy Castle, not with our Enrolee.
 */
class DenialsTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C0001";
    static DeviceMaker maker;
    static TestGateway mef;
    static DeviceMaker.Device other;
    static int registrations;

    /** A freshly registered device per test: one instruction to enrol, one certificate. */
    HttpClient deviceClient;
    String enroleeId;
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
        enroleeId = "ae-denials-" + registrations;
        mef.register(device, enroleeId, "AE-ID", AE_ID, 40);
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
        assertRefused(enrol(deviceClient, valid(second).base64()), 403, "enrolee.no-pending-command", "no CERT_PROV command is pending");
        assertRefused(TestGateway.get(deviceClient, mef.est("/csrattrs")), 403, "enrolee.no-pending-command",
                "no CERT_PROV command is pending");
    }

    private HttpResponse<String> enrol(HttpClient client, String body) throws Exception {
        return TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", body);
    }

    private TestCsr valid(String challenge) throws Exception {
        return TestCsr.p256().subject("CN=" + AE_ID).challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40");
    }

    /**
     * The status, a text/plain reason that names {@code rule} of profile default (or, with
     * {@code rule} null, a refusal before any policy: authentication, routing, HTTP framing, that
     * names no rule) and mentions {@code reasonPart}, and no new certificate.
     */
    private void assertRefused(HttpResponse<String> r, int status, String rule, String reasonPart) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
        if (rule != null) {
            assertTrue(r.body().startsWith("refused by rule " + rule + " of profile default: "), "refused by " + rule + ": " + r.body());
        } else {
            assertFalse(r.body().contains("refused by rule"), "no rule decided this: " + r.body());
        }
        assertTrue(r.body().contains(reasonPart), "reason '" + r.body().strip() + "' should mention '" + reasonPart + "'");
        assertFalse(r.body().contains("Exception"), "no stack trace or exception name to the client: " + r.body());
        assertEquals(issuedBefore, mef.issued().size(), "nothing issued");
    }

    /**
     * The challenge's own single use, apart from the command's: after the certificate the operator
     * instructs the Enrolee again, so a command is pending, and the spent challenge is what is
     * refused ({@code challenge.unused}); a fresh challenge then gets the certificate, so nothing
     * else stood in the way.
     */
    @Test
    void reusedChallengeIsRefusedAfterOneCertificate() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        assertEquals(200, enrol(deviceClient, valid(challenge).base64()).statusCode());
        issuedBefore++;
        instructAgain();

        assertRefused(enrol(deviceClient, valid(challenge).base64()), 403, "challenge.unused", "already used");
        assertEquals(200, enrol(deviceClient, valid(mef.challenge(deviceClient, "")).base64()).statusCode(),
                "the command was pending: only the challenge was spent");
    }

    private void instructAgain() throws Exception {
        HttpResponse<String> r = new AdminClient(mef.config).postJson("/admin/enrolees/" + enroleeId + "/instruct", "");
        assertEquals(200, r.statusCode(), r.body());
    }

    /**
     * Two renewals race with one challenge (the default profile requires a challenge on
     * re-enrolment, and a renewal claims no command): one certificate, and the other is refused
     * because the challenge is spent, whether it was decided before the first claimed the
     * challenge (the claim fails) or after (policy sees it used): {@code challenge.unused} either way.
     */
    @Test
    void twoRenewalsRacingWithOneChallengeGetOneCertificate() throws Exception {
        KeyPair keys = TestCsr.keys("EC", new ECGenParameterSpec("secp256r1"));
        HttpResponse<String> first = enrol(deviceClient, valid(mef.challenge(deviceClient, "")).keys(keys).base64());
        assertEquals(200, first.statusCode(), first.body());
        issuedBefore++;
        HttpClient renewing = mef.client(keys, PolicyProfilesTest.certificate(first));
        String challenge = mef.challenge(renewing, "");
        String a = valid(challenge).base64();
        String b = valid(challenge).base64();

        var one = renewing.sendAsync(request("/simplereenroll", a), HttpResponse.BodyHandlers.ofString());
        var other = renewing.sendAsync(request("/simplereenroll", b), HttpResponse.BodyHandlers.ofString());
        List<HttpResponse<String>> responses = List.of(one.get(), other.get());

        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 200).count(), responses.toString());
        issuedBefore++;
        assertRefused(responses.stream().filter(r -> r.statusCode() != 200).findFirst().orElseThrow(), 403, "challenge.unused",
                "challengePassword");
    }

    /**
     * Two first enrolments race, each with a challenge of its own: one instruction, one
     * certificate. The other is refused because the command is spent ({@code
     * enrolee.no-pending-command}), whether it was decided before the first claimed the command
     * (its own challenge is claimed, the command is not, and both are rolled back) or after.
     */
    @Test
    void twoFirstEnrolmentsRacingWithTwoChallengesGetOneCertificate() throws Exception {
        String a = valid(mef.challenge(deviceClient, "")).base64();
        String b = valid(mef.challenge(deviceClient, "")).base64();

        var one = deviceClient.sendAsync(request("/simpleenroll", a), HttpResponse.BodyHandlers.ofString());
        var other = deviceClient.sendAsync(request("/simpleenroll", b), HttpResponse.BodyHandlers.ofString());
        List<HttpResponse<String>> responses = List.of(one.get(), other.get());

        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 200).count(), responses.toString());
        issuedBefore++;
        assertRefused(responses.stream().filter(r -> r.statusCode() != 200).findFirst().orElseThrow(), 403,
                "enrolee.no-pending-command", "no CERT_PROV command is pending");
    }

    private java.net.http.HttpRequest request(String path, String body) {
        return java.net.http.HttpRequest.newBuilder(mef.est(path)).header("Content-Type", "application/pkcs10")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build();
    }

    @Test
    void expiredChallengeIsRefused() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        mef.clock.advance(Duration.ofSeconds(301));

        assertRefused(enrol(deviceClient, valid(challenge).base64()), 403, "challenge.unexpired", "expired");
    }

    @Test
    void challengeIssuedToAnotherEnroleeIsRefused() throws Exception {
        String othersChallenge = mef.challenge(mef.client(other), "");

        assertRefused(enrol(deviceClient, valid(othersChallenge).base64()), 403, "challenge.enrolee", "another Enrolee");
    }

    @Test
    void unknownChallengeIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, valid("00112233445566778899aabbccddeeff").base64()), 403, "challenge.known", "not one this MEF issued");
    }

    @Test
    void csrWithoutChallengeIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, valid(null).base64()), 403, "challenge.present", "challengePassword");
    }

    @Test
    void sanOtherThanTheRegisteredIdentityIsRefusedAndTheChallengeStaysUsable() throws Exception {
        String challenge = mef.challenge(deviceClient, "");
        TestCsr wrongSan = TestCsr.p256().subject("CN=" + AE_ID).challenge(challenge).uri("//m2m.example.com/CSE3219/C6666");

        assertRefused(enrol(deviceClient, wrongSan.base64()), 403, "san.registered-identity", "C6666");
        // A refusal changes nothing: the challenge was not consumed.
        assertEquals(200, enrol(deviceClient, valid(challenge).base64()).statusCode());
    }

    @Test
    void sanAsDnsNameForAnAeIdIsRefused() throws Exception {
        TestCsr dnsSan = TestCsr.p256().subject("CN=" + AE_ID).challenge(mef.challenge(deviceClient, "")).dns("m2m.example.com");

        assertRefused(enrol(deviceClient, dnsSan.base64()), 403, "san.registered-identity", "subjectAltName");
    }

    @Test
    void ekuOutsideTheEnroleesSuidsIsRefused() throws Exception {
        TestCsr csr = valid(mef.challenge(deviceClient, "")).eku(Oids.SUID_EKU_ARC + ".45");

        assertRefused(enrol(deviceClient, csr.base64()), 403, "eku.suids", Oids.SUID_EKU_ARC + ".45");
    }

    @Test
    void serverAuthEkuIsRefused() throws Exception {
        TestCsr csr = valid(mef.challenge(deviceClient, "")).eku("1.3.6.1.5.5.7.3.1");

        assertRefused(enrol(deviceClient, csr.base64()), 403, "eku.suids", "1.3.6.1.5.5.7.3.1");
    }

    @Test
    void caRequestIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, valid(mef.challenge(deviceClient, "")).ca().base64()), 403, "extensions.no-ca", "CA");
    }

    @Test
    void rsaKeyIsRefused() throws Exception {
        KeyPair rsa = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        TestCsr csr = valid(mef.challenge(deviceClient, "")).keys(rsa);

        assertRefused(enrol(deviceClient, csr.base64()), 403, "csr.signature-algorithm", "not allowed");
    }

    @Test
    void p384KeyIsRefused() throws Exception {
        KeyPair p384 = TestCsr.keys("EC", new ECGenParameterSpec("secp384r1"));
        TestCsr csr = valid(mef.challenge(deviceClient, "")).keys(p384);

        assertRefused(enrol(deviceClient, csr.base64()), 403, "key.type", "secp384r1");
    }

    @Test
    void csrWhoseSignatureDoesNotVerifyIsRefused() throws Exception {
        byte[] der = valid(mef.challenge(deviceClient, "")).der();
        der[der.length - 5] ^= 0x01; // inside the signature value

        assertRefused(enrol(deviceClient, Base64.getEncoder().encodeToString(der)), 400, "csr.signature", "signature");
    }

    @Test
    void bodyThatIsNotBase64IsRefused() throws Exception {
        assertRefused(enrol(deviceClient, "this is *not* base64!"), 400, "body.base64", "base64");
    }

    @Test
    void base64ThatIsNotAPkcs10RequestIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, Base64.getEncoder().encodeToString("hello, MEF".getBytes())), 400, "csr.malformed", "DER");
    }

    @Test
    void emptyBodyIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, ""), 400, "body.base64", "empty");
    }

    @Test
    void wrongContentTypeIsRefused() throws Exception {
        HttpResponse<String> r = TestGateway.post(deviceClient, mef.est("/simpleenroll"), "application/json",
                valid(mef.challenge(deviceClient, "")).base64());

        assertRefused(r, 415, null, "application/pkcs10");
    }

    @Test
    void oversizeBodyIsRefused() throws Exception {
        assertRefused(enrol(deviceClient, "A".repeat(200_000)), 413, null, "too large");
    }

    @Test
    void noClientCertificateIsUnauthenticated() throws Exception {
        HttpClient anonymous = mef.client(null);

        assertRefused(TestGateway.get(anonymous, mef.est("/csrattrs")), 401, null, "client certificate");
        assertRefused(enrol(anonymous, valid("00112233445566778899aabbccddeeff").base64()), 401, null, "client certificate");
    }

    @Test
    void bootstrapCertificateOfATrustedMakerThatWasNeverRegisteredIsRefused() throws Exception {
        HttpClient unregistered = mef.client(maker.device("never-registered"));

        assertRefused(TestGateway.get(unregistered, mef.est("/csrattrs")), 403, null, "not registered");
        assertRefused(enrol(unregistered, valid("00112233445566778899aabbccddeeff").base64()), 403, null, "not registered");
        assertRefused(TestGateway.get(unregistered, mef.mefBase().resolve("/mef/command")), 403, null, "not registered");
    }

    /** Presented anyway (the maker is not among the CAs the server names), it fails with the TLS alert unknown_ca (certificate_unknown on JSSE). */
    @Test
    void bootstrapCertificateFromAnUntrustedMakerFailsTheTlsHandshake() throws Exception {
        DeviceMaker.Device stranger = DeviceMaker.create("Unknown Maker CA").device("stranger");

        try (RawHttps c = RawHttps.presenting(mef, mef.gateway.estPort(), stranger.keyStore(), DeviceMaker.Device.PASSWORD)) {
            assertEquals(stranger.certificate(), c.socket.getSession().getLocalCertificates()[0], "the certificate was presented");
            SSLHandshakeException refused = assertThrows(SSLHandshakeException.class, () -> c.socket.getInputStream().read());
            // unknown_ca from BoringSSL, certificate_unknown from JSSE (the fallback engine): the certificate is refused, not the MEF at fault.
            assertTrue(refused.getMessage().matches(".*Received fatal alert: (unknown_ca|certificate_unknown)"), refused.toString());
        }
        assertEquals(issuedBefore, mef.issued().size());
    }

    @Test
    void unknownPathAndWrongMethodAreRefused() throws Exception {
        assertRefused(TestGateway.get(deviceClient, mef.est("/fullcmc")), 404, null, "no such resource");
        assertRefused(TestGateway.post(deviceClient, mef.est("/cacerts"), "application/pkcs10", "AAAA"), 405, null, "not allowed");
    }
}
