package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Gateway;
import org.mefgateway.gateway.token.TokenCommands;
import org.mefgateway.policy.Oids;

/**
 * {@code mefgate token list-keys} and {@code renew-scep-ra} on the real SoftHSM2 token of a gateway:
 * the listing names the RA key beside the CA key with its certificate, and a renewal puts a new RA
 * certificate (new serial, two years) for the same key on the token, which GetCACert serves after
 * a restart and which a PKCSReq encrypted to it enrols with.
 */
class ScepRaRenewalTest {

    @Test
    void theRaKeyIsListedAndItsRenewedCertificateIsServedAndUsedAfterARestart() throws Exception {
        DeviceMaker maker = DeviceMaker.create("scep-ra-renewal-maker");
        TestGateway mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", ScepTest.SCEP_PROFILE), maker);
        X509Certificate before = ra(mef.gateway.publicationPort());
        // The CLI is another process in production; in this JVM it shares the PKCS#11 module with the
        // gateway, and its logout would end the gateway's sessions: the gateway stops first.
        mef.gateway.close();

        String list = token(mef, "list-keys");
        assertTrue(list.contains("): 2 CA key(s), 1 SCEP RA key(s)\n"), list); // the CA key and its OCSP responder key
        assertTrue(list.contains("  ca-p256-scep-ra  rsa-2048  SCEP RA key of CA key 'ca-p256'  subject=CN=Test MEF Root CA SCEP RA  serial="
                + before.getSerialNumber().toString(16) + "  notAfter=" + before.getNotAfter().toInstant() + "\n"), list);

        Instant renewing = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        String renewed = token(mef, "renew-scep-ra");
        Instant done = Instant.now();
        assertTrue(renewed.contains("renewed the certificate of SCEP RA key 'ca-p256-scep-ra'"), renewed);
        assertTrue(renewed.contains("from its next start"), renewed);
        String listed = token(mef, "list-keys");

        try (Gateway restarted = Gateway.start(mef.config, mef.clock)) {
            X509Certificate after = ra(restarted.publicationPort());
            after.verify(mef.caCertificate.getPublicKey());
            assertNotEquals(before.getSerialNumber(), after.getSerialNumber(), "a new certificate");
            assertEquals(before.getPublicKey(), after.getPublicKey(), "for the same key");
            assertEquals(before.getSubjectX500Principal(), after.getSubjectX500Principal());
            assertTrue(after.getNotAfter().toInstant().isAfter(before.getNotAfter().toInstant()), "valid for longer");
            Instant notAfter = after.getNotAfter().toInstant();
            assertTrue(!notAfter.isBefore(renewing.plus(Duration.ofDays(730))) && !notAfter.isAfter(done.plus(Duration.ofDays(730))),
                    "two years from the renewal (the test CA outlives them): " + notAfter);
            assertTrue(listed.contains("serial=" + after.getSerialNumber().toString(16) + "  notAfter=" + after.getNotAfter().toInstant()),
                    "the listing after the renewal showed it: " + listed);

            // A device that fetched the new RA certificate enrols: the token's RA key decrypts what is encrypted to it.
            enrol(mef, maker, restarted, after, "scep-ra-renewed");
            // So does a device that still holds the old one: the envelope names the old serial, but
            // the key behind it is the same, so the RA key takes it (no GetCACert needed again).
            enrol(mef, maker, restarted, before, "scep-ra-old-cert");
        }
    }

    /** Registers {@code id}, has it instructed for SCEP, and enrols it with a PKCSReq encrypted to {@code raCertificate}. */
    private static void enrol(TestGateway mef, DeviceMaker maker, Gateway restarted, X509Certificate raCertificate, String id) throws Exception {
        String aeId = "//m2m.example.com/" + id;
        mef.register(maker.device(id), id, "AE-ID", aeId, List.of("scep"), 40);
        String challenge = new org.mefgateway.gateway.admin.AdminClient(mef.config).postJson(
                "/admin/enrolees/" + id + "/instruct", "{\"certProvProtocolID\":\"SCEP\"}").body();
        KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        byte[] csr = new TestCsr().keys(keys).subject("CN=" + aeId).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40")
                .challenge(new io.vertx.core.json.JsonObject(challenge).getString("challenge")).der();
        HttpResponse<byte[]> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + restarted.publicationPort() + "/scep?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(BcScep.request("19", csr, raCertificate, BcScep.selfSigned(keys, id),
                        keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce()))).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, answer.statusCode());
        BcScep.CertRep rep = BcScep.CertRep.read(answer.body(), raCertificate);
        assertEquals("0", rep.pkiStatus(), id + ": SUCCESS, failInfo " + rep.failInfo());
        X509Certificate issued = rep.certificate(keys.getPrivate());
        issued.verify(mef.caCertificate.getPublicKey());
        assertArrayEquals(issued.getEncoded(), restarted.store().certificates().stream()
                .filter(c -> c.serialHex().equalsIgnoreCase(issued.getSerialNumber().toString(16))).findFirst()
                .orElseThrow(() -> new AssertionError(id + ": not in the ledger")).der());
    }

    /** Runs {@code mefgate token ARGS} on the gateway's configuration; its output, which never holds the PIN. */
    private static String token(TestGateway mef, String... args) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new TokenCommands(() -> mef.config, new PrintStream(bytes, true, StandardCharsets.UTF_8)).run(List.of(args));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(out.contains(mef.hsm.pin()), "the PIN is never printed");
        return out;
    }

    /** The RA certificate (the one that is no CA) GetCACert serves. */
    private static X509Certificate ra(int port) throws Exception {
        return BcScep.raCertificate(URI.create("http://127.0.0.1:" + port + "/scep"));
    }
}
