package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/**
 * A fault of the token holding the SCEP RA key, real as TokenStorageFaultTest makes it: the
 * token's directory moves away under SoftHSM2 and comes back. While it is away a PKIOperation is
 * answered 503 + Retry-After (the MEF cannot serve; not a CertRep FAILURE, which would blame the
 * client's message, and not a 500); once it is back the RA key is opened again on its own and the
 * same device enrols. An envelope that is genuinely wrong stays a FAILURE badMessageCheck.
 */
class ScepRaKeyFaultTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static X509Certificate ra;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-fault-maker");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", ScepTest.SCEP_PROFILE), maker);
        ra = caRaCertificates().stream().filter(c -> c.getBasicConstraints() < 0).findFirst().orElseThrow();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void whileTheTokensStorageIsGoneAPkiOperationIs503AndOnceItIsBackTheDeviceEnrols() throws Exception {
        Device device = register("scep-fault-1");
        int before = mef.issued().size();
        Path token = tokenDirectory();
        Path away = token.resolveSibling(token.getFileName() + "-away");
        Files.move(token, away);
        try {
            // SoftHSM2 notices its storage is gone at a later call, not necessarily the first:
            // until then the token still serves (a challenge never issued: FAILURE badRequest, so
            // nothing is issued and the device's challenge is kept for after the fault).
            Instant deadline = Instant.now().plusSeconds(30);
            HttpResponse<byte[]> r = post(pkcsReq(device, "00112233445566778899aabbccddeeff"));
            while (r.statusCode() == 200) {
                assertEquals("CertRep pkiStatus 2 failInfo 2", describe(r));
                assertTrue(Instant.now().isBefore(deadline), "the token's fault was not seen within 30 s");
                Thread.sleep(200);
                r = post(pkcsReq(device, "00112233445566778899aabbccddeeff"));
            }
            assertEquals(503, r.statusCode(), describe(r));
            assertTrue(r.headers().firstValue("Retry-After").isPresent(), "Retry-After");
            assertFalse(r.headers().firstValue("Content-Type").orElse("").contains("pki-message"), "no CertRep");
            // And so it stays while the storage is gone: no CertRep blaming the message, no 500.
            HttpResponse<byte[]> again = post(pkcsReq(device));
            assertEquals(503, again.statusCode(), describe(again));
        } finally {
            Files.move(away, token);
        }
        assertEquals(before, mef.issued().size());

        // Back: the RA key (and the CA key after the module reload) open again on their own; until
        // then only 503 is acceptable. The challenge was not spent: nothing reached the core.
        Instant deadline = Instant.now().plusSeconds(60);
        while (true) {
            HttpResponse<byte[]> r = post(pkcsReq(device));
            if (r.statusCode() == 200) {
                BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
                assertEquals("0", rep.pkiStatus(), "SUCCESS");
                rep.certificate(device.keys().getPrivate()).verify(mef.caCertificate.getPublicKey());
                break;
            }
            assertEquals(503, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
            assertTrue(Instant.now().isBefore(deadline), "SCEP did not recover within 60 s of the token coming back");
            Thread.sleep(200);
        }
        assertEquals(before + 1, mef.issued().size());
    }

    /**
     * Encrypted to a certificate with the RA certificate's issuer and serial (so the RA key tries
     * to decrypt it) but another key: the token refuses the content-encryption key, which is the
     * envelope's fault, not the token's.
     */
    @Test
    void anEnvelopeForTheRaCertificatesNameButAnotherKeyIsStillFailureBadMessageCheck() throws Exception {
        Device device = register("scep-fault-2");
        KeyPair other = rsa();
        X509Certificate impostor = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                ra.getIssuerX500Principal(), ra.getSerialNumber(), new Date(), new Date(System.currentTimeMillis() + 3_600_000L),
                ra.getSubjectX500Principal(), other.getPublic()).build(new JcaContentSignerBuilder("SHA256withRSA").build(other.getPrivate())));
        byte[] message = BcScep.request("19", csr(device), impostor, device.signer(), device.keys().getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce());

        HttpResponse<byte[]> r = post(message);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
        assertEquals("2", rep.pkiStatus(), "FAILURE");
        assertEquals("1", rep.failInfo(), "badMessageCheck");
        assertNull(rep.signedData().getSignedContent(), "no certificate");
        // The RA key is fine: the genuine request is served.
        assertEquals("0", BcScep.CertRep.read(post(pkcsReq(device)).body(), ra).pkiStatus());
    }

    /** A response for an assertion message: a CertRep's status and failInfo, else the text. */
    private static String describe(HttpResponse<byte[]> r) {
        try {
            BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
            return "CertRep pkiStatus " + rep.pkiStatus() + " failInfo " + rep.failInfo();
        } catch (Exception notACertRep) {
            return new String(r.body(), StandardCharsets.UTF_8);
        }
    }

    private record Device(String id, KeyPair keys, X509Certificate signer, String challenge) {
    }

    private static Device register(String name) throws Exception {
        DeviceMaker.Device device = maker.device(name);
        String id = ScepTest.AE_ID + "-" + name;
        mef.register(device, name, "AE-ID", id, List.of("scep"), 40);
        String challenge = mef.challenge(mef.client(device), "/scep");
        KeyPair keys = rsa();
        return new Device(id, keys, BcScep.selfSigned(keys, name), challenge);
    }

    private static byte[] csr(Device device) throws Exception {
        return csr(device, device.challenge());
    }

    private static byte[] csr(Device device, String challenge) throws Exception {
        return new TestCsr().keys(device.keys()).subject("CN=" + device.id()).challenge(challenge).uri(device.id())
                .eku(Oids.SUID_EKU_ARC + ".40").der();
    }

    private static byte[] pkcsReq(Device device) throws Exception {
        return pkcsReq(device, device.challenge());
    }

    private static byte[] pkcsReq(Device device, String challenge) throws Exception {
        return BcScep.request("19", csr(device, challenge), ra, device.signer(), device.keys().getPrivate(), UUID.randomUUID().toString(),
                BcScep.nonce());
    }

    private static KeyPair rsa() throws Exception {
        return TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
    }

    private static HttpResponse<byte[]> post(byte[] message) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation")).header("Content-Type", "application/x-pki-message")
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(message)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    /** The one token's own directory under SoftHSM's token store. */
    private static Path tokenDirectory() throws Exception {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(mef.hsm.dir.resolve("tokens"), Files::isDirectory)) {
            List<Path> all = new ArrayList<>();
            dirs.forEach(all::add);
            assertEquals(1, all.size(), "one token in the store: " + all);
            return all.get(0);
        }
    }

    private static List<X509Certificate> caRaCertificates() throws Exception {
        return BcScep.caRaCertificates(scep(""));
    }

    private static URI scep(String query) {
        return mef.publicationBase().resolve("/scep" + query);
    }
}
