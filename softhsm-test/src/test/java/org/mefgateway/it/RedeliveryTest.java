package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * A lost answer never strands a device (RFC 7030 4.2.3: repeating a request is safe). The same
 * Enrolee repeating the same request — same key, same names; the CSR signed again, so its bytes
 * differ — within the profile's redelivery window gets the certificate already issued for it:
 * 200, the same certificate, no new signature, audited and counted. Another key, another Enrolee,
 * a broken signature, a revoked certificate or a repeat after the window get what they got before.
 */
class RedeliveryTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Redelivery CA");
        // The default test profile: challenges live 300 s, so a repeat is recognised for 300 s.
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE,
                "norepeat.yaml", TestGateway.DEFAULT_PROFILE + "redelivery: {windowSeconds: 0}\n"), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** A registered device, its HTTPS client, and the CSR it sends: a key, its AE-ID, a challenge. */
    record Device(String id, String aeId, HttpClient client, KeyPair keys, String challenge) {
        /** The same request signed again: same key, names and challenge; another ECDSA signature. */
        String csr() throws Exception {
            return TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(challenge).base64();
        }
    }

    static Device device(String label) throws Exception {
        int i = ++n;
        DeviceMaker.Device device = maker.device("redeliver-" + i);
        String aeId = "//m2m.example.com/CSE3219/C-REDELIVER-" + i;
        mef.register(device, "redeliver-" + i, "AE-ID", aeId, 40);
        HttpClient client = mef.client(device);
        return new Device("redeliver-" + i, aeId, client, DeviceMaker.ecKeys(), mef.challenge(client, label));
    }

    static HttpResponse<String> enrol(Device d, String label, String csr) throws Exception {
        return TestGateway.post(d.client(), mef.est(label + "/simpleenroll"), "application/pkcs10", csr);
    }

    static List<IssuedCertificate> issuedTo(String enroleeId) {
        return mef.issued().stream().filter(c -> c.enroleeId().equals(enroleeId)).toList();
    }

    static double redelivered(String profile, String operation) {
        var counter = mef.gateway.meters().find("mef.certificates.redelivered").tags("profile", profile, "operation", operation).counter();
        return counter == null ? 0 : counter.count();
    }

    /**
     * The redelivery's audit event is written by the next group commit, after the answer (as a
     * refusal's is): wait for it, up to 10 s. On H2 it is usually there at once; on PostgreSQL with
     * synchronous_commit and fsync on, the commit often ends after the client has its answer.
     */
    static List<AuditEvent> awaitRedeliveredEvents(String enroleeId) throws InterruptedException {
        List<AuditEvent> events = List.of();
        for (int i = 0; i < 200 && events.isEmpty(); i++) {
            if (i > 0) {
                Thread.sleep(50);
            }
            events = mef.gateway.store().auditEvents(0, 1_000_000).stream()
                    .filter(e -> e.type().equals("certificate.redelivered") && e.actor().equals("enrolee:" + enroleeId)).toList();
        }
        return events;
    }

    @Test
    void aClientThatCouldNotReadTheAnswerRepeatsAndGetsTheSameCertificateWithoutANewIssuance() throws Exception {
        Device d = device("");
        String sent = d.csr();
        HttpResponse<String> first = enrol(d, "", sent);
        assertEquals(200, first.statusCode(), first.body());
        double before = redelivered("default", "simpleenroll");

        String again = d.csr();
        HttpResponse<String> repeat = enrol(d, "", again);

        assertFalse(again.equals(sent), "signed again: the CSR's bytes differ");
        assertEquals(200, repeat.statusCode(), repeat.body());
        X509Certificate original = PolicyProfilesTest.certificate(first);
        assertArrayEquals(original.getEncoded(), PolicyProfilesTest.certificate(repeat).getEncoded(), "the same certificate");
        assertEquals(1, issuedTo(d.id()).size(), "no second issuance, no new serial");
        assertEquals(before + 1, redelivered("default", "simpleenroll"));
        List<AuditEvent> events = awaitRedeliveredEvents(d.id());
        assertEquals(1, events.size());
        assertEquals("serial:" + original.getSerialNumber().toString(16), events.get(0).subject());
    }

    @Test
    void aRepeatWithAnotherKeyGetsTheRefusalOfASpentCommand() throws Exception {
        Device d = device("");
        assertEquals(200, enrol(d, "", d.csr()).statusCode());

        HttpResponse<String> otherKey = enrol(d, "", TestCsr.p256().subject("CN=" + d.aeId()).uri(d.aeId()).challenge(d.challenge()).base64());

        assertRefused(otherKey, "enrolee.no-pending-command", "default");
        assertTrue(otherKey.body().contains("its certificate was already issued"), otherKey.body());
        assertEquals(1, issuedTo(d.id()).size());
    }

    @Test
    void afterTheWindowTheRepeatGetsTheRefusalOfASpentCommandAsCsrattrsDoesAtOnce() throws Exception {
        Device d = device("");
        assertEquals(200, enrol(d, "", d.csr()).statusCode());
        assertRefused(TestGateway.get(d.client(), mef.est("/csrattrs")), "enrolee.no-pending-command", "default");

        HttpResponse<String> late;
        HttpResponse<String> attrs;
        mef.clock.advance(Duration.ofSeconds(301));
        try {
            late = enrol(d, "", d.csr());
            attrs = TestGateway.get(d.client(), mef.est("/csrattrs"));
        } finally {
            // Back, so that certificates the other tests get are valid now for TLS (the JDK uses the real clock).
            mef.clock.advance(Duration.ofSeconds(-301));
        }

        assertRefused(late, "enrolee.no-pending-command", "default");
        assertRefused(attrs, "enrolee.no-pending-command", "default");
        assertEquals(1, issuedTo(d.id()).size());
    }

    @Test
    void aProfileWithoutARedeliveryWindowRefusesTheRepeat() throws Exception {
        Device d = device("/norepeat");
        assertEquals(200, enrol(d, "/norepeat", d.csr()).statusCode());

        HttpResponse<String> repeat = enrol(d, "/norepeat", d.csr());

        assertRefused(repeat, "enrolee.no-pending-command", "norepeat");
        assertEquals(1, issuedTo(d.id()).size());
    }

    @Test
    void aRevokedCertificateIsNotHandedOutAgain() throws Exception {
        Device d = device("");
        X509Certificate cert = PolicyProfilesTest.certificate(enrol(d, "", d.csr()));
        HttpResponse<String> revoked = new AdminClient(mef.config).postJson("/admin/certificates/"
                + cert.getSerialNumber().toString(16) + "/revoke", "{\"reason\":\"keyCompromise\"}");
        assertEquals(200, revoked.statusCode(), revoked.body());

        HttpResponse<String> repeat = enrol(d, "", d.csr());

        assertRefused(repeat, "redelivery.revoked", "default");
        assertTrue(repeat.body().contains(cert.getSerialNumber().toString(16) + ", which has been revoked since"), repeat.body());
        assertEquals(1, issuedTo(d.id()).size());
    }

    @Test
    void anotherEnroleeSendingACopyOfTheCsrGetsNothingOfTheFirstOnes() throws Exception {
        Device first = device("");
        String csr = first.csr();
        assertEquals(200, enrol(first, "", csr).statusCode());
        Device other = device("");

        HttpResponse<String> copy = enrol(other, "", csr);

        // The copy carries the first Enrolee's challenge: refused for it, never answered with its certificate.
        assertRefused(copy, "challenge.enrolee", "default");
        assertTrue(issuedTo(other.id()).isEmpty());
        assertEquals(1, issuedTo(first.id()).size());
    }

    @Test
    void aRepeatWhoseSignatureDoesNotVerifyIsMalformedNotRedelivered() throws Exception {
        Device d = device("");
        assertEquals(200, enrol(d, "", d.csr()).statusCode());
        byte[] der = Base64.getMimeDecoder().decode(d.csr());
        der[der.length - 5] ^= 0x01; // inside the signature value

        HttpResponse<String> forged = enrol(d, "", Base64.getEncoder().encodeToString(der));

        assertEquals(400, forged.statusCode(), forged.body());
        assertTrue(forged.body().startsWith("refused by rule csr.signature of profile default"), forged.body());
        assertEquals(1, issuedTo(d.id()).size());
    }

    @Test
    void aConnectionDroppedRightAfterTheCsrStillLeavesTheDeviceItsCertificate() throws Exception {
        int i = ++n;
        DeviceMaker.Device bootstrap = maker.device("redeliver-" + i);
        String id = "redeliver-" + i;
        String aeId = "//m2m.example.com/CSE3219/C-REDELIVER-" + i;
        mef.register(bootstrap, id, "AE-ID", aeId, 40);
        Device d = new Device(id, aeId, mef.client(bootstrap), DeviceMaker.ecKeys(), null);
        d = new Device(id, aeId, d.client(), d.keys(), mef.challenge(d.client(), ""));
        byte[] body = d.csr().getBytes(StandardCharsets.US_ASCII);

        try (RawHttps raw = RawHttps.connect(mef, bootstrap)) {
            raw.send("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").send(body);
        } // closed before any answer could arrive
        Instant deadline = Instant.now().plusSeconds(20);
        while (issuedTo(id).isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(50);
        }
        assertEquals(1, issuedTo(id).size(), "issued and recorded although nobody read the answer");

        HttpResponse<String> repeat = enrol(d, "", d.csr());

        assertEquals(200, repeat.statusCode(), repeat.body());
        assertEquals(issuedTo(id).get(0).serialHex(), PolicyProfilesTest.certificate(repeat).getSerialNumber().toString(16));
        assertEquals(1, issuedTo(id).size());
    }

    @Test
    void aRenewalRepeatedAfterALostAnswerGetsTheSameRenewedCertificate() throws Exception {
        Device d = device("");
        HttpClient renewing = mef.client(d.keys(), PolicyProfilesTest.certificate(enrol(d, "", d.csr())));
        Device renewal = new Device(d.id(), d.aeId(), renewing, DeviceMaker.ecKeys(), mef.challenge(renewing, ""));
        double before = redelivered("default", "simplereenroll");

        HttpResponse<String> first = TestGateway.post(renewing, mef.est("/simplereenroll"), "application/pkcs10", renewal.csr());
        HttpResponse<String> repeat = TestGateway.post(renewing, mef.est("/simplereenroll"), "application/pkcs10", renewal.csr());

        assertEquals(200, first.statusCode(), first.body());
        assertEquals(200, repeat.statusCode(), repeat.body());
        assertArrayEquals(PolicyProfilesTest.certificate(first).getEncoded(), PolicyProfilesTest.certificate(repeat).getEncoded());
        assertEquals(2, issuedTo(d.id()).size(), "the first certificate and one renewal");
        assertEquals(before + 1, redelivered("default", "simplereenroll"));
    }

    static void assertRefused(HttpResponse<String> r, String rule, String profile) {
        int status = rule.equals("csr.signature") ? 400 : 403;
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("refused by rule " + rule + " of profile " + profile + ": "), r.body());
    }
}
