package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.P256_OTHER;
import static org.mefgateway.policy.TestCsrs.RSA2048;
import static org.mefgateway.policy.TestCsrs.csr;
import static org.mefgateway.policy.TestCsrs.suidEku;

import java.io.ByteArrayOutputStream;
import java.security.KeyPair;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBMPString;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERT61String;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.OtherName;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CsrParserTest {

    private static final String AE_ID = "//m2m.example.com/CSE3219/C9886";

    /**
     * A CSR made by strongSwan's pki 5.9.8 (Debian 12): {@code pki --req --in key.pem --type ecdsa
     * --dn "CN=//m2m.example.com/CSE3219/C9886" --san asn1gn:#861f<AE-ID hex> --password s3cret
     * --outform der}. pki writes the extensionRequest attribute before challengePassword, not in
     * DER's sorted order, and signs those bytes (openssl req -verify: OK). Verifying over a
     * re-encoding of the request info (Bouncy Castle's isSignatureValid) took it for a forgery.
     */
    @Test
    void aCsrSignedOverItsAttributesInTheOrderTheClientWroteThemVerifies() throws Exception {
        byte[] der;
        try (var in = CsrParserTest.class.getResourceAsStream("strongswan-pki-5.9.8.csr.der")) {
            der = in.readAllBytes();
        }

        CsrFacts facts = CsrParser.parse(der);

        assertTrue(facts.signatureValid());
        assertEquals(Optional.of("s3cret"), facts.challengePassword());
        assertEquals(List.of(new SubjectAltName(SubjectAltName.Kind.URI, AE_ID)), facts.subjectAltNames());
        assertEquals("CN=" + AE_ID, facts.subject());
    }

    @Test
    void extractsEveryFactOfAOneM2MCsr() throws Exception {
        byte[] der = csr(P256)
                .subject("CN=" + AE_ID)
                .uri(AE_ID)
                .eku(suidEku(45))
                .eku(suidEku(40))
                .extension(Oids.KEY_USAGE, true, new KeyUsage(KeyUsage.digitalSignature))
                .der();

        CsrFacts facts = CsrParser.parse(der);

        assertArrayEquals(P256.getPublic().getEncoded(), facts.subjectPublicKeyInfo());
        assertEquals("EC", facts.keyAlgorithm());
        assertEquals(Optional.of("secp256r1"), facts.ecCurve());
        assertEquals(256, facts.keySizeBits());
        assertEquals(Oids.ECDSA_WITH_SHA256, facts.signatureAlgorithmOid());
        assertTrue(facts.signatureValid());
        assertEquals("CN=" + AE_ID, facts.subject());
        assertEquals(List.of(new SubjectAltName(SubjectAltName.Kind.URI, AE_ID)), facts.subjectAltNames());
        assertEquals(List.of(suidEku(45), suidEku(40)), facts.requestedEkus(), "EKUs in requested order");
        assertEquals(Set.of(Oids.SUBJECT_ALT_NAME, Oids.EXTENDED_KEY_USAGE, Oids.KEY_USAGE), facts.requestedExtensionOids());
        assertEquals(Set.of(Oids.KEY_USAGE), facts.criticalExtensionOids());
        assertFalse(facts.requestsCa());
        assertEquals(Optional.of("s3cret"), facts.challengePassword());
    }

    @Test
    void aCsrWithoutAttributesHasEmptySubjectNoSansAndNoChallenge() throws Exception {
        CsrFacts facts = CsrParser.parse(csr(P256).noChallenge().der());

        assertEquals("", facts.subject());
        assertEquals(List.of(), facts.subjectAltNames());
        assertEquals(List.of(), facts.requestedEkus());
        assertEquals(Set.of(), facts.requestedExtensionOids());
        assertEquals(Optional.empty(), facts.challengePassword());
    }

    @Test
    void subjectIsRenderedWithRfc4514EscapingInEncodedOrder() throws Exception {
        CsrFacts facts = CsrParser.parse(csr(P256).subject(new X500NameBuilder()
                .addRDN(BCStyle.C, "DE").addRDN(BCStyle.O, "Example, Inc").addRDN(BCStyle.CN, "a+b")
                .build()).der());

        assertEquals("C=DE,O=Example\\, Inc,CN=a\\+b", facts.subject());
    }

    /**
     * Found by fuzzing (PolicyEngineFuzzTest): Bouncy Castle verifies the signature over a key
     * whose BIT STRING declares pad bits, but the key rule then could not read the key's octets
     * (IllegalStateException, a 500). Such a key is malformed: every key type is whole bytes.
     */
    @Test
    void keyBitStringWithPadBitsIsMalformedEvenWhenTheSignatureVerifies() throws Exception {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(P256.getPublic().getEncoded());
        byte[] point = spki.getPublicKeyData().getBytes();
        point[point.length - 1] &= (byte) 0xFE;
        SubjectPublicKeyInfo padded = new SubjectPublicKeyInfo(spki.getAlgorithm(), new DERBitString(point, 1));
        byte[] der = new org.bouncycastle.pkcs.PKCS10CertificationRequestBuilder(new org.bouncycastle.asn1.x500.X500Name(""), padded)
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").setProvider(TestCsrs.BC)
                        .build(P256.getPrivate()))
                .getEncoded();

        MalformedCsrException e = assertThrows(MalformedCsrException.class, () -> CsrParser.parse(der));
        assertTrue(e.getMessage().contains("whole number of bytes"), e.getMessage());
    }

    /** Regression (hostile corpus der-indefinite-length): the same CSR in BER framing was accepted and issued. */
    @Test
    void aCsrInBerFramingIsRefusedAsNotDer() throws Exception {
        byte[] der = csr(P256).uri(AE_ID).der();
        int lengthBytes = (der[1] & 0x80) == 0 ? 1 : 1 + (der[1] & 0x7f);
        byte[] content = java.util.Arrays.copyOfRange(der, 1 + lengthBytes, der.length);
        byte[] indefinite = new byte[content.length + 4];
        indefinite[0] = 0x30;
        indefinite[1] = (byte) 0x80;
        System.arraycopy(content, 0, indefinite, 2, content.length);
        byte[] longForm = new byte[content.length + 6];
        longForm[0] = 0x30;
        longForm[1] = (byte) 0x84;
        longForm[4] = (byte) (content.length >> 8);
        longForm[5] = (byte) content.length;
        System.arraycopy(content, 0, longForm, 6, content.length);

        assertTrue(CsrParser.parse(der).signatureValid());
        for (byte[] ber : List.of(indefinite, longForm)) {
            MalformedCsrException e = org.junit.jupiter.api.Assertions.assertThrows(MalformedCsrException.class, () -> CsrParser.parse(ber));
            assertTrue(e.getMessage().contains("not DER"), e.getMessage());
        }
    }

    @Test
    void requestedCaIsReported() throws Exception {
        assertTrue(CsrParser.parse(csr(P256).ca().der()).requestsCa());
    }

    static Stream<Arguments> keys() {
        return Stream.of(
                Arguments.of("P-256", P256, "EC", Optional.of("secp256r1"), 256),
                Arguments.of("P-384", TestCsrs.P384, "EC", Optional.of("secp384r1"), 384),
                Arguments.of("P-521", TestCsrs.generate("EC", new ECGenParameterSpec("secp521r1")), "EC",
                        Optional.of("secp521r1"), 521),
                Arguments.of("brainpoolP256r1", TestCsrs.generate("EC", new ECGenParameterSpec("brainpoolP256r1")), "EC",
                        Optional.of("brainpoolP256r1"), 256),
                Arguments.of("RSA-2048", RSA2048, "RSA", Optional.empty(), 2048),
                Arguments.of("Ed25519", TestCsrs.generate("Ed25519", new NamedParameterSpec("Ed25519")), "Ed25519",
                        Optional.empty(), 255));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void reportsKeyAlgorithmCurveAndSize(String name, KeyPair key, String algorithm, Optional<String> curve, int bits)
            throws Exception {
        CsrFacts facts = CsrParser.parse(csr(key).der());

        assertEquals(algorithm, facts.keyAlgorithm());
        assertEquals(curve, facts.ecCurve());
        assertEquals(bits, facts.keySizeBits());
        assertTrue(facts.signatureValid(), "self-signed CSR verifies");
    }

    @Test
    void explicitCurveParametersAreReportedAsExplicit() throws Exception {
        SubjectPublicKeyInfo named = SubjectPublicKeyInfo.getInstance(P256.getPublic().getEncoded());
        SubjectPublicKeyInfo explicit = new SubjectPublicKeyInfo(
                new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, ECNamedCurveTable.getByName("secp256r1")),
                named.getPublicKeyData().getBytes());

        CsrFacts facts = CsrParser.parse(csr(P256).publicKey(explicit).der());

        assertEquals(Optional.of("explicit"), facts.ecCurve());
        assertEquals(256, facts.keySizeBits());
    }

    static Stream<Arguments> generalNames() {
        return Stream.of(
                Arguments.of(new GeneralName(GeneralName.dNSName, "cse.example.com"), SubjectAltName.Kind.DNS, "cse.example.com"),
                Arguments.of(new GeneralName(GeneralName.uniformResourceIdentifier, "urn:gsma:imei:35-209900-176148-1"),
                        SubjectAltName.Kind.URI, "urn:gsma:imei:35-209900-176148-1"),
                Arguments.of(new GeneralName(GeneralName.rfc822Name, "ops@example.com"), SubjectAltName.Kind.EMAIL, "ops@example.com"),
                Arguments.of(new GeneralName(GeneralName.iPAddress, "192.0.2.7"), SubjectAltName.Kind.IP, "192.0.2.7"),
                Arguments.of(new GeneralName(GeneralName.iPAddress, "2001:db8::1"), SubjectAltName.Kind.IP, "2001:db8:0:0:0:0:0:1"),
                Arguments.of(new GeneralName(GeneralName.otherName,
                                new OtherName(new ASN1ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), new DERUTF8String("u@x"))),
                        SubjectAltName.Kind.OTHER, "otherName 1.3.6.1.4.1.311.20.2.3"),
                Arguments.of(new GeneralName(GeneralName.registeredID, "1.2.3.4"), SubjectAltName.Kind.OTHER, "registeredID 1.2.3.4"),
                Arguments.of(new GeneralName(GeneralName.directoryName, "CN=dir"), SubjectAltName.Kind.OTHER, "directoryName CN=dir"));
    }

    @ParameterizedTest(name = "{1} {2}")
    @MethodSource("generalNames")
    void mapsEachGeneralNameToItsKindAndText(GeneralName name, SubjectAltName.Kind kind, String value) throws Exception {
        CsrFacts facts = CsrParser.parse(csr(P256).san(name).der());

        assertEquals(List.of(new SubjectAltName(kind, value)), facts.subjectAltNames());
    }

    static Stream<Arguments> challengeStrings() {
        return Stream.of(
                Arguments.of("UTF8String", new DERUTF8String("s3cret")),
                Arguments.of("PrintableString", new DERPrintableString("s3cret")),
                Arguments.of("IA5String", new DERIA5String("s3cret")),
                Arguments.of("BMPString", new DERBMPString("s3cret")),
                Arguments.of("TeletexString", new DERT61String("s3cret")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("challengeStrings")
    void acceptsChallengePasswordInEveryDirectoryStringForm(String type, ASN1Encodable value) throws Exception {
        assertEquals(Optional.of("s3cret"), CsrParser.parse(csr(P256).challenge(value).der()).challengePassword());
    }

    @Test
    void csrSignedByAnotherKeyHasInvalidSignature() throws Exception {
        CsrFacts facts = CsrParser.parse(csr(P256).signedBy(P256_OTHER).der());

        assertFalse(facts.signatureValid());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ownKeys")
    void csrWithAlteredSignatureBytesHasInvalidSignature(String name, KeyPair key) throws Exception {
        CertificationRequest original = CertificationRequest.getInstance(csr(key).der());
        byte[] signature = original.getSignature().getOctets();
        signature[signature.length - 1] ^= 0x01;
        CertificationRequest forged = new CertificationRequest(
                original.getCertificationRequestInfo(), original.getSignatureAlgorithm(), new DERBitString(signature));

        CsrFacts facts = CsrParser.parse(forged.getEncoded("DER"));

        assertFalse(facts.signatureValid());
    }

    static Stream<Arguments> ownKeys() {
        return Stream.of(Arguments.of("P-256", P256), Arguments.of("RSA-2048", RSA2048));
    }

    @Test
    void unsupportedSignatureAlgorithmIsAnInvalidSignatureNotAnError() throws Exception {
        CertificationRequest original = CertificationRequest.getInstance(csr(P256).der());
        CertificationRequest unknown = new CertificationRequest(original.getCertificationRequestInfo(),
                new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.3.4")), original.getSignature());

        CsrFacts facts = CsrParser.parse(unknown.getEncoded("DER"));

        assertEquals("1.2.3.4", facts.signatureAlgorithmOid());
        assertFalse(facts.signatureValid());
    }

    static Stream<Arguments> malformed() throws Exception {
        byte[] valid = csr(P256).uri(AE_ID).der();
        return Stream.of(
                Arguments.of("empty body", new byte[0], "no CSR"),
                Arguments.of("garbage bytes", "this is not a CSR".getBytes(), "not"),
                Arguments.of("truncated DER", Arrays.copyOf(valid, valid.length - 7), "not DER"),
                Arguments.of("trailing bytes", concat(valid, new byte[] {0x05, 0x00}), "2 trailing bytes"),
                Arguments.of("DER that is not a CSR", new DERSequence(new ASN1Integer(1)).getEncoded(), "PKCS#10"),
                Arguments.of("non-string challengePassword", csr(P256).challenge(new ASN1Integer(42)).der(),
                        "challengePassword must be a string"),
                Arguments.of("multi-valued challengePassword",
                        csr(P256).challenge(new DERUTF8String("a"), new DERUTF8String("b")).der(),
                        "exactly one value, not 2"),
                Arguments.of("duplicate extension", csr(P256).uri(AE_ID)
                                .extension(Oids.SUBJECT_ALT_NAME, false, new DERSequence(new GeneralName(GeneralName.dNSName, "x")))
                                .der(),
                        "CSR requests extension 2.5.29.17 twice"),
                Arguments.of("subjectAltName that is not DER",
                        csr(P256).extension(Oids.SUBJECT_ALT_NAME, false, new DEROctetString(new byte[0])).der(),
                        "subjectAltName"),
                Arguments.of("IP address of 5 bytes", csr(P256).san(new GeneralName(GeneralName.iPAddress,
                        new DEROctetString(new byte[5]))).der(), "4 or 16 bytes, not 5"),
                Arguments.of("deeply nested ASN.1", nested(200_000), "too deeply"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void rejectsMalformedInputWithAClientFacingReason(String name, byte[] der, String reason) {
        MalformedCsrException e = assertThrows(MalformedCsrException.class, () -> CsrParser.parse(der));

        assertTrue(e.getMessage().contains(reason), () -> "reason '" + e.getMessage() + "' should mention '" + reason + "'");
    }

    /** Whatever bytes arrive, the only failure is MalformedCsrException; anything else fails this test. */
    @Test
    void mutatedCsrsNeverThrowAnythingButMalformedCsrException() {
        byte[] valid = csr(P256).subject("CN=" + AE_ID).uri(AE_ID).eku(suidEku(40)).ca().der();
        Random random = new Random(7030);
        int parsed = 0;
        for (int i = 0; i < 2000; i++) {
            byte[] mutated = valid.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
            }
            try {
                CsrParser.parse(mutated);
                parsed++;
            } catch (MalformedCsrException expected) {
                assertFalse(expected.getMessage().isBlank());
            }
        }
        assertTrue(parsed > 0, "some mutations (e.g. in signature bytes) still parse");
    }

    /** Indefinite-length SEQUENCEs nested {@code depth} deep: tiny input, deep recursion. */
    private static byte[] nested(int depth) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < depth; i++) {
            out.write(0x30);
            out.write(0x80);
        }
        for (int i = 0; i < depth; i++) {
            out.write(0);
            out.write(0);
        }
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
