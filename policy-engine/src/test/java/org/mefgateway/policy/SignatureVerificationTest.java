package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.mefgateway.policy.TestCsrs.ED25519;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.P256_OTHER;
import static org.mefgateway.policy.TestCsrs.P384;
import static org.mefgateway.policy.TestCsrs.P521;
import static org.mefgateway.policy.TestCsrs.RSA1024;
import static org.mefgateway.policy.TestCsrs.RSA2048;
import static org.mefgateway.policy.TestCsrs.csr;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import java.io.InputStream;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.spec.ECGenParameterSpec;
import java.util.Optional;
import java.util.stream.Stream;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which provider verifies CSR signatures here, and that it answers exactly as the Bouncy Castle fallback does. */
class SignatureVerificationTest {

    private static final Provider ACCP = AmazonCorrettoCryptoProvider.INSTANCE;

    @Test
    void nativeProviderIsInUseOnLinuxX8664() {
        // The build machines are linux-x86_64, where ACCP's native library must load; elsewhere, or with
        // the fallback forced for the whole run (MEF_NATIVE_CRYPTO=off ops/test), this is skipped.
        assumeTrue(
                System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"),
                "ACCP's native library is built for linux-x86_64 only");

        assumeFalse(
                SignatureVerification.fallbackReason().map(reason -> reason.startsWith("forced off")).orElse(false),
                "the fallback is forced in this JVM");

        assertEquals("ACCP", SignatureVerification.provider());
        assertEquals(Optional.empty(), SignatureVerification.fallbackReason());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void nativeAndFallbackGiveTheSameAnswer(String name, byte[] der, boolean valid, boolean nativeTakesIt) throws Exception {
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(der);
        byte[] signed = CsrParser.firstElement(der);
        byte[] signature = csr.getSignature();

        boolean bouncyCastle = SignatureVerification.verifies(Optional.empty(), csr.getSubjectPublicKeyInfo(),
                csr.getSignatureAlgorithm(), signed, signature);
        boolean accp = SignatureVerification.verifies(Optional.of(ACCP), csr.getSubjectPublicKeyInfo(),
                csr.getSignatureAlgorithm(), signed, signature);

        // ACCP itself answers what it can take (not Bouncy Castle behind it), and only that.
        assertEquals(nativeTakesIt, SignatureVerification.nativeVerifier(ACCP, csr.getSubjectPublicKeyInfo(),
                csr.getSignatureAlgorithm()) != null, "ACCP takes it");
        assertEquals(valid, bouncyCastle, "Bouncy Castle");
        assertEquals(valid, accp, "ACCP");
        assertEquals(valid, CsrParser.parse(der).signatureValid(), "CsrParser with " + SignatureVerification.provider());
    }

    static Stream<Arguments> corpus() throws Exception {
        KeyPair brainpool = generate("brainpoolP256r1");
        return Stream.of(
                Arguments.of("P-256", csr(P256).der(), true, true),
                Arguments.of("P-256 signed by another key", csr(P256).signedBy(P256_OTHER).der(), false, true),
                Arguments.of("P-256 with an altered signature", altered(csr(P256).der()), false, true),
                Arguments.of("P-256 with SHA-384", csr(P256).signatureAlgorithm("SHA384withECDSA").der(), true, true),
                Arguments.of("P-384", csr(P384).signatureAlgorithm("SHA384withECDSA").der(), true, true),
                Arguments.of("P-384 with an altered signature", altered(csr(P384).signatureAlgorithm("SHA384withECDSA").der()),
                        false, true),
                Arguments.of("P-521", csr(P521).signatureAlgorithm("SHA512withECDSA").der(), true, true),
                Arguments.of("P-256 with its point compressed", csr(P256).publicKey(PolicyEngineTest.compressed(P256)).der(), true, true),
                Arguments.of("brainpoolP256r1 (Bouncy Castle)", csr(brainpool).der(), true, false),
                Arguments.of("RSA-2048", csr(RSA2048).der(), true, true),
                Arguments.of("RSA-2048 with an altered signature", altered(csr(RSA2048).der()), false, true),
                Arguments.of("RSA-1024", csr(RSA1024).der(), true, true),
                // Bouncy Castle asks for PSS by a name (SHA256WITHRSAANDMGF1) ACCP does not have: Bouncy Castle verifies.
                Arguments.of("RSA-2048 PSS (Bouncy Castle)", csr(RSA2048).signatureAlgorithm("SHA256withRSAandMGF1").der(), true,
                        false),
                Arguments.of("Ed25519 (Bouncy Castle)", csr(ED25519).der(), true, false),
                Arguments.of("Ed25519 with an altered signature", altered(csr(ED25519).der()), false, false),
                Arguments.of("strongSwan pki 5.9.8, attributes not in DER order", resource("strongswan-pki-5.9.8.csr.der"),
                        true, true),
                Arguments.of("fuzz seed p256", resource("fuzz/CsrParserFuzzTestInputs/parse/seed-p256.der"), true, true),
                Arguments.of("fuzz seed rsa2048", resource("fuzz/CsrParserFuzzTestInputs/parse/seed-rsa2048.der"), true, true),
                Arguments.of("fuzz seed ed25519", resource("fuzz/CsrParserFuzzTestInputs/parse/seed-ed25519.der"), true, false));
    }

    private static KeyPair generate(String curve) throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", new BouncyCastleProvider());
        kpg.initialize(new ECGenParameterSpec(curve));
        return kpg.generateKeyPair();
    }

    private static byte[] altered(byte[] der) throws Exception {
        CertificationRequest original = CertificationRequest.getInstance(der);
        byte[] signature = original.getSignature().getOctets();
        signature[signature.length - 1] ^= 0x01;
        return new CertificationRequest(original.getCertificationRequestInfo(), original.getSignatureAlgorithm(),
                new DERBitString(signature)).getEncoded("DER");
    }

    private static byte[] resource(String name) throws Exception {
        try (InputStream in = SignatureVerificationTest.class.getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }
}
