package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/**
 * SCEP (RFC 8894) on the publication listener, against a real gateway on a real SoftHSM2 token
 * over real HTTP, with {@link BcScep} as the client: what GetCACaps advertises, the RA certificate
 * GetCACert hands out and where its key lives, and PKCSReq served through the same core, challenges
 * and ledger as EST, with CertRep FAILURE (never a certificate, never a 5xx) for what is not right.
 */
class ScepTest {
    static final String AE_ID = "//m2m.example.com/CSE17/S0001";
    /**
     * The profile of label "scep": RSA device keys (SCEP's envelopes need them), and a renewal signed
     * with the current certificate needs no new challenge; like the default otherwise.
     */
    static final String SCEP_PROFILE = "validity: {days: 7}\nchallenge: {lifetimeSeconds: 300}\n"
            + "keys: {ec: [], rsaMinBits: 2048}\nsignatureAlgorithms: [sha256WithRSAEncryption]\nreenrolment: {challenge: none}\n";

    static DeviceMaker maker;
    static TestGateway mef;
    static X509Certificate ra;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static int devices;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-maker");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", SCEP_PROFILE), maker);
        ra = caRaCertificates().stream().filter(c -> c.getBasicConstraints() < 0).findFirst().orElseThrow();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void getCaCapsListsExactlyWhatTheServerDoes() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=GetCACaps")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals(List.of("POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal"), r.body().lines().toList());
    }

    @Test
    void getCaCertHoldsTheCaCertificateAndAnRaCertificateItIssuedForAnRsaKey() throws Exception {
        List<X509Certificate> certs = caRaCertificates();
        assertEquals(2, certs.size());
        assertTrue(certs.contains(mef.caCertificate));
        ra.verify(mef.caCertificate.getPublicKey());
        assertEquals("CN=Test MEF Root CA SCEP RA", ra.getSubjectX500Principal().getName());
        boolean[] usage = ra.getKeyUsage();
        assertTrue(usage[0] && usage[2], "digitalSignature and keyEncipherment");
        assertEquals(2048, ((RSAPublicKey) ra.getPublicKey()).getModulus().bitLength());
    }

    /** OpenSC's pkcs11-tool reads the RA key's attributes from the token: generated there, never extractable, decrypt and sign only. */
    @Test
    void raKeyIsOnTheTokenSensitiveNeverExtractableAndOnlyDecryptsAndSigns() throws Exception {
        String objects = SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(), "--token-label", mef.hsm.tokenLabel,
                "--login", "--pin", mef.hsm.pin(), "--list-objects", "--type", "privkey"));
        String raKey = java.util.Arrays.stream(objects.split("Private Key Object"))
                .filter(o -> o.contains("label:      ca-p256-scep-ra\n")).findFirst().orElseThrow(() -> new AssertionError(objects));
        assertTrue(raKey.startsWith("; RSA"), raKey);
        String access = raKey.lines().filter(l -> l.strip().startsWith("Access:")).findFirst().orElse("");
        assertTrue(access.contains("always sensitive") && access.contains("never extractable") && access.contains("local"), raKey);
        String usage = raKey.lines().filter(l -> l.strip().startsWith("Usage:")).findFirst().orElse("");
        assertEquals("decrypt, sign", usage.substring(usage.indexOf(':') + 1).strip(), raKey);
    }

    @Test
    void pkcsReqWithTheIssuedChallengeGetsTheCertificateEnvelopedToTheDeviceOnceOnly() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        String transactionId = UUID.randomUUID().toString();
        byte[] nonce = BcScep.nonce();
        BcScep.CertRep rep = post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, device.keys.getPrivate(),
                transactionId, nonce));

        assertEquals("3", rep.messageType());
        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        assertEquals(transactionId, rep.transactionId());
        assertArrayEquals(nonce, rep.recipientNonce());
        X509Certificate issued = rep.certificate(device.keys.getPrivate());
        issued.verify(mef.caCertificate.getPublicKey());
        assertEquals(device.keys.getPublic(), issued.getPublicKey());
        assertEquals(before + 1, mef.issued().size());
        assertTrue(mef.issued().stream().anyMatch(c -> c.serialHex().equalsIgnoreCase(issued.getSerialNumber().toString(16))
                && c.profile().equals("scep")), "in the ledger under profile scep");

        // The challenge is spent: another key's request with it is refused, and nothing is issued.
        KeyPair other = rsa();
        Registered intruder = new Registered(device.id, other, BcScep.selfSigned(other, "intruder"), device.challenge);
        assertFailure(post(BcScep.request("19", csr(intruder, device.challenge), ra, intruder.signer, other.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())), "2");
        assertEquals(before + 1, mef.issued().size());
    }

    /**
     * The issue's redelivery: the CertRep was lost and the device sends its PKCSReq again (the same
     * transaction, CSR and key, a new senderNonce); its challenge was spent by the first, yet it gets
     * the same certificate, signed once, in a new CertRep answering the new nonce.
     */
    @Test
    void aRepeatedPkcsReqGetsTheSameCertificateAgainWithoutASecondSignature() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        String transactionId = UUID.randomUUID().toString();
        byte[] csr = csr(device, device.challenge);
        X509Certificate first = post(BcScep.request("19", csr, ra, device.signer, device.keys.getPrivate(), transactionId, BcScep.nonce()))
                .certificate(device.keys.getPrivate());

        byte[] nonce = BcScep.nonce();
        BcScep.CertRep again = post(BcScep.request("19", csr, ra, device.signer, device.keys.getPrivate(), transactionId, nonce));

        assertEquals("0", again.pkiStatus(), "SUCCESS");
        assertEquals(transactionId, again.transactionId());
        assertArrayEquals(nonce, again.recipientNonce());
        assertArrayEquals(first.getEncoded(), again.certificate(device.keys.getPrivate()).getEncoded(), "the same certificate");
        assertEquals(before + 1, mef.issued().size(), "signed once");

        // The very same message again (its senderNonce too) is a retransmission, not a replay.
        byte[] same = BcScep.request("19", csr, ra, device.signer, device.keys.getPrivate(), transactionId, nonce);
        assertEquals("0", post(same).pkiStatus());
        assertEquals("0", post(same).pkiStatus());
        assertEquals(before + 1, mef.issued().size(), "signed once");
    }

    /**
     * The issue's "Bad input": a signingTime further from the MEF's time than the skew allowed (10
     * minutes), in the past or in the future, is FAILURE badTime (RFC 8894 3.2.1.4.5), before
     * anything is spent: the same request signed now gets the certificate with the same challenge.
     */
    @Test
    void aStaleOrFutureSigningTimeFailsWithBadTimeAndSpendsNothing() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        for (Instant signingTime : List.of(Instant.now().minus(Duration.ofMinutes(11)), Instant.now().plus(Duration.ofMinutes(11)))) {
            assertFailure(post(BcScep.request("19", csr(device, device.challenge), CMSAlgorithm.AES128_CBC, "SHA256withRSA", signingTime, ra,
                    device.signer, device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "3");
        }
        assertEquals(before, mef.issued().size());

        BcScep.CertRep now = post(BcScep.request("19", csr(device, device.challenge), CMSAlgorithm.AES128_CBC, "SHA256withRSA",
                Instant.now().minus(Duration.ofMinutes(4)), ra, device.signer, device.keys.getPrivate(), UUID.randomUUID().toString(),
                BcScep.nonce()));
        // (Within the signer certificate's validity, which starts 5 minutes ago: the signature is checked at the signingTime.)
        assertEquals("0", now.pkiStatus(), "within the skew, with the challenge still unspent");
        assertEquals(before + 1, mef.issued().size());
    }

    /** A senderNonce seen before, in another transaction from another key, is a replay: FAILURE badRequest, nothing spent. */
    @Test
    void aReplayedSenderNonceInAnotherTransactionFailsWithBadRequest() throws Exception {
        Registered first = register();
        Registered second = register();
        byte[] nonce = BcScep.nonce();
        assertEquals("0", post(BcScep.request("19", csr(first, first.challenge), ra, first.signer, first.keys.getPrivate(),
                UUID.randomUUID().toString(), nonce)).pkiStatus());
        int before = mef.issued().size();

        assertFailure(post(BcScep.request("19", csr(second, second.challenge), ra, second.signer, second.keys.getPrivate(),
                UUID.randomUUID().toString(), nonce)), "2");
        assertEquals(before, mef.issued().size());
        assertEquals("0", post(BcScep.request("19", csr(second, second.challenge), ra, second.signer, second.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).pkiStatus(), "its challenge unspent, with a fresh nonce");
    }

    /** RFC 8894 3.5.2: without the legacy switch, GetCACaps offers no SHA-1 and a message signed with a SHA-1 digest is refused. */
    @Test
    void aSha1DigestFailsWithBadAlgWithoutTheLegacySwitch() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        assertFailure(post(BcScep.request("19", csr(device, device.challenge), CMSAlgorithm.AES128_CBC, "SHA1withRSA", Instant.now(), ra,
                device.signer, device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "0");
        assertEquals(before, mef.issued().size());
    }

    @Test
    void pkcsReqWithAChallengeNeverIssuedFailsWithBadRequestByPostAndByGet() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        byte[] message = BcScep.request("19", csr(device, "00112233445566778899aabbccddeeff"), ra, device.signer,
                device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce());
        assertFailure(post(message), "2");
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation&message="
                + java.net.URLEncoder.encode(Base64.getEncoder().encodeToString(message), java.nio.charset.StandardCharsets.US_ASCII)))
                .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertFailure(BcScep.CertRep.read(r.body(), ra), "2");
        assertEquals(before, mef.issued().size());
    }

    @Test
    void aSignatureThatDoesNotVerifyFailsWithBadMessageCheckAndSpendsNothing() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        KeyPair impostor = rsa();
        BcScep.CertRep rep = post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, impostor.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce()));
        assertFailure(rep, "1");
        assertEquals(before, mef.issued().size());
        // The challenge was not spent by the refused message: the genuine one is served.
        assertEquals("0", post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).pkiStatus());
    }

    @Test
    void anEnvelopeForAnotherCertificateFailsWithBadMessageCheck() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        X509Certificate other = BcScep.selfSigned(rsa(), "not the RA");
        assertFailure(post(BcScep.request("19", csr(device, device.challenge), other, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())), "1");
        assertEquals(before, mef.issued().size());
    }

    @Test
    void renewalReqSignedWithTheCurrentCertificateRenewsWithoutAChallenge() throws Exception {
        Registered device = register();
        X509Certificate current = post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).certificate(device.keys.getPrivate());
        int before = mef.issued().size();
        // A new key (the profile allows rekey): the same key and request would be a redelivery of the same certificate.
        Registered rekeyed = new Registered(device.id(), rsa(), current, null);
        BcScep.CertRep rep = post(BcScep.request("17", csr(rekeyed, null), ra, current, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce()));
        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        X509Certificate renewed = rep.certificate(device.keys.getPrivate()); // enveloped to the signer: the current certificate
        renewed.verify(mef.caCertificate.getPublicKey());
        assertEquals(rekeyed.keys().getPublic(), renewed.getPublicKey());
        assertEquals(current.getSubjectX500Principal(), renewed.getSubjectX500Principal());
        assertEquals(before + 1, mef.issued().size());
    }

    @Test
    void renewalReqSignedWithACertificateThisCaDidNotIssueFailsWithBadRequest() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        assertFailure(post(BcScep.request("17", csr(device, null), ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())), "2");
        assertEquals(before, mef.issued().size());
    }

    /** RFC 8894 3.5.2: GetCACaps does not offer DES or 3DES, and an envelope encrypted with them is refused. */
    @Test
    void anEnvelopeEncryptedWithTripleDesFailsWithBadAlg() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        assertFailure(post(BcScep.request("19", csr(device, device.challenge), org.bouncycastle.cms.CMSAlgorithm.DES_EDE3_CBC, ra,
                device.signer, device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "0");
        assertEquals(before, mef.issued().size());
    }

    @Test
    void anUnknownOperationOrABodyThatIsNoPkiMessageIsA400() throws Exception {
        HttpResponse<String> unknown = HTTP.send(HttpRequest.newBuilder(scep("?operation=GetNextCACert")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, unknown.statusCode());
        assertTrue(unknown.body().contains("unknown operation 'GetNextCACert'"), unknown.body());
        HttpResponse<String> garbage = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {0x30, 0x03, 0x02, 0x01, 0x01})).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, garbage.statusCode());
        assertTrue(garbage.body().contains("not a CMS SignedData pkiMessage"), garbage.body());
    }

    /** A transactionID longer than the 256 characters the MEF keeps (for CertPoll) is a 400, with nothing spent. */
    @Test
    void aTransactionIdLongerThan256CharactersIsA400() throws Exception {
        Registered device = register();
        int before = mef.issued().size();
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message")
                .POST(HttpRequest.BodyPublishers.ofByteArray(BcScep.request("19", csr(device, device.challenge), ra, device.signer,
                        device.keys.getPrivate(), "T".repeat(257), BcScep.nonce()))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, r.statusCode());
        assertTrue(r.body().contains("the transactionID has 257 characters"), r.body());
        assertEquals(before, mef.issued().size());
    }

    /** A GET-encoded pkiMessage is bounded by the listener's request line (4 KiB): beyond, 414 before anything is read. */
    @Test
    void aGetEncodedMessageLongerThanTheRequestLineLimitIsA414() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation&message=" + "A".repeat(5000))).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(414, r.statusCode());
    }

    /** SCEP shares the publication listener: the CRL is still served beside it. */
    /**
     * RFC 8894 3.3.4 GetCert: the owner of a certificate (a message signed with its key, or with
     * another certificate this CA issued to the same Enrolee) gets it, enveloped to the signer.
     */
    @Test
    void getCertGivesACertificateToItsOwner() throws Exception {
        Registered device = register();
        X509Certificate issued = post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).certificate(device.keys.getPrivate());
        byte[] wanted = BcScep.issuerAndSerialNumber(mef.caCertificate, issued.getSerialNumber());

        BcScep.CertRep bySameKey = post(BcScep.request("21", wanted, ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce()));
        assertEquals("0", bySameKey.pkiStatus(), "SUCCESS");
        assertArrayEquals(issued.getEncoded(), bySameKey.certificate(device.keys.getPrivate()).getEncoded());

        BcScep.CertRep byIssuedCertificate = post(BcScep.request("21", wanted, ra, issued, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce()));
        assertArrayEquals(issued.getEncoded(), byIssuedCertificate.certificate(device.keys.getPrivate()).getEncoded());

        // Renewed with a new key: the new certificate, issued to the same Enrolee, may fetch the old one.
        Registered rekeyed = new Registered(device.id(), rsa(), issued, null);
        X509Certificate renewed = post(BcScep.request("17", csr(rekeyed, null), ra, issued, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).certificate(device.keys.getPrivate());
        BcScep.CertRep byRenewed = post(BcScep.request("21", wanted, ra, renewed, rekeyed.keys().getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce()));
        assertArrayEquals(issued.getEncoded(), byRenewed.certificate(rekeyed.keys().getPrivate()).getEncoded());
    }

    /** GetCert by someone else, or of a serial the ledger does not hold: the same badCertId, nothing revealed. */
    @Test
    void getCertByAnotherKeyOrOfAnUnknownSerialFailsWithBadCertId() throws Exception {
        Registered device = register();
        X509Certificate issued = post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).certificate(device.keys.getPrivate());
        KeyPair other = rsa();
        X509Certificate stranger = BcScep.selfSigned(other, "stranger");

        assertFailure(post(BcScep.request("21", BcScep.issuerAndSerialNumber(mef.caCertificate, issued.getSerialNumber()), ra, stranger,
                other.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "4");
        assertFailure(post(BcScep.request("21", BcScep.issuerAndSerialNumber(mef.caCertificate, java.math.BigInteger.valueOf(7)), ra,
                device.signer, device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "4");
        assertFailure(post(BcScep.request("21", BcScep.issuerAndSerialNumber(ra, issued.getSerialNumber()), ra, device.signer,
                device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "4");
    }

    /** RFC 8894 3.3.4 GetCRL: the CRL published at /crl/ca.crl, signed by the CA, in a degenerate SignedData enveloped to the signer. */
    @Test
    void getCrlGivesTheCrlOfTheCaAndAnotherIssuerFailsWithBadCertId() throws Exception {
        Registered device = register();
        X509Certificate issued = post(BcScep.request("19", csr(device, device.challenge), ra, device.signer, device.keys.getPrivate(),
                UUID.randomUUID().toString(), BcScep.nonce())).certificate(device.keys.getPrivate());

        BcScep.CertRep rep = post(BcScep.request("22", BcScep.issuerAndSerialNumber(mef.caCertificate, issued.getSerialNumber()), ra,
                issued, device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce()));
        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        org.bouncycastle.cert.X509CRLHolder crl = rep.crl(device.keys.getPrivate());
        assertTrue(crl.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder()
                .build(mef.caCertificate.getPublicKey())));
        HttpResponse<byte[]> published = HTTP.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/crl/ca.crl")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertArrayEquals(published.body(), crl.getEncoded(), "the CRL served at /crl/ca.crl");

        assertFailure(post(BcScep.request("22", BcScep.issuerAndSerialNumber(ra, issued.getSerialNumber()), ra, issued,
                device.keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce())), "4");
    }

    @Test
    void theCrlIsStillServedOnTheSameListener() throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/crl/ca.crl")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
    }

    private record Registered(String id, KeyPair keys, X509Certificate signer, String challenge) {
    }

    /** A device registered for profile scep, its new RSA key, and a challenge the core issued to it (csrattrs of label scep). */
    private static Registered register() throws Exception {
        String name = "scep-" + (++devices);
        DeviceMaker.Device device = maker.device(name);
        String id = AE_ID + "-" + devices;
        mef.register(device, name, "AE-ID", id, List.of("scep"), 40);
        String challenge = mef.challenge(mef.client(device), "/scep");
        KeyPair keys = rsa();
        return new Registered(id, keys, BcScep.selfSigned(keys, name), challenge);
    }

    /** The CSR the profile accepts for the device's identity, with {@code challenge} as challengePassword. */
    private static byte[] csr(Registered device, String challenge) throws Exception {
        return new TestCsr().keys(device.keys()).subject("CN=" + device.id()).challenge(challenge).uri(device.id())
                .eku(Oids.SUID_EKU_ARC + ".40").der();
    }

    private static KeyPair rsa() throws Exception {
        return TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
    }

    private static void assertFailure(BcScep.CertRep rep, String failInfo) {
        assertEquals("3", rep.messageType());
        assertEquals("2", rep.pkiStatus(), "FAILURE");
        assertEquals(failInfo, rep.failInfo());
        assertNull(rep.signedData().getSignedContent(), "no pkcsPKIEnvelope, so no certificate");
    }

    private static BcScep.CertRep post(byte[] message) throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(message)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("application/x-pki-message", r.headers().firstValue("Content-Type").orElse(""));
        return BcScep.CertRep.read(r.body(), ra);
    }

    private static List<X509Certificate> caRaCertificates() throws Exception {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(scep("?operation=GetCACert")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertEquals("application/x-x509-ca-ra-cert", r.headers().firstValue("Content-Type").orElse(""));
        @SuppressWarnings("unchecked")
        Collection<X509CertificateHolder> holders = new CMSSignedData(r.body()).getCertificates().getMatches(null);
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        List<X509Certificate> certs = new java.util.ArrayList<>();
        for (X509CertificateHolder h : holders) {
            certs.add(converter.getCertificate(h));
        }
        return certs;
    }

    private static URI scep(String query) {
        return mef.publicationBase().resolve("/scep" + query);
    }
}
