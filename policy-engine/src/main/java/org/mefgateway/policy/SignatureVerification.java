package org.mefgateway.policy;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Provider;
import java.security.spec.X509EncodedKeySpec;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentVerifier;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;

/**
 * The JCA provider that checks a CSR's proof of possession, chosen once per JVM.
 *
 * <p>The native one is Amazon Corretto Crypto Provider 2.4.1 (AWS-LC). {@code bench}'s VerifyBench
 * measured, one thread, one run on JDK 25 (docs/bench/README.md): SHA256withECDSA P-256 at 4.3×
 * Bouncy Castle (Conscrypt 2.5.2 4.2×, the JDK's SunEC 0.4×), P-384 at 3.0× (Conscrypt 1.3×),
 * RSA-2048 at 2.2× (Conscrypt 1.6×); the same order on JDK 17. On P-256 the two tie; ACCP wins the
 * rest, its jar is smaller (2.9 against 4.5 MB) and it is maintained (Conscrypt's last release is
 * from 2021). Neither has Ed25519 or Ed448.
 * It is used as an object, never registered with {@code Security.addProvider}: the JVM's provider
 * list stays as configured. Its native library is in the jar for linux-x86_64 only; elsewhere, when
 * its self-check fails, or when forced off ({@link NativeCrypto}), Bouncy Castle's pure-Java provider verifies
 * everything.
 *
 * <p>Per request, an algorithm or key the native provider cannot take (Ed25519, Ed448, curves
 * other than the NIST ones, explicit parameters, RSASSA-PSS, which Bouncy Castle's builder asks for
 * by a name ACCP lacks) is verified by Bouncy Castle, so a CSR gets the same answer whichever
 * provider is in use.
 */
public final class SignatureVerification {

    /** Used directly, never registered: the JVM stays as configured. */
    private static final Provider BC = new BouncyCastleProvider();

    private static final Choice CHOICE = choose();

    /** The provider in use and, when it is the fallback, why the native one is not. */
    private record Choice(String provider, Optional<String> fallbackReason, Optional<Provider> nativeProvider) {
    }

    private SignatureVerification() {
    }

    /** "ACCP" or "BouncyCastle". */
    public static String provider() {
        return CHOICE.provider();
    }

    /** Why the native provider is not in use; empty when it is. */
    public static Optional<String> fallbackReason() {
        return CHOICE.fallbackReason();
    }

    private static Choice choose() {
        Optional<String> forcedOff = NativeCrypto.forcedOff();
        if (forcedOff.isPresent()) {
            return fallback(forcedOff.get());
        }
        try {
            AmazonCorrettoCryptoProvider accp = AmazonCorrettoCryptoProvider.INSTANCE;
            // Throws when the native library did not load (other OS or CPU) or a self-test failed.
            accp.assertHealthy();
            return new Choice("ACCP", Optional.empty(), Optional.of(accp));
        } catch (RuntimeException | LinkageError e) {
            // LinkageError: a library that cannot load shows in the provider's class initialisation.
            return fallback("ACCP did not load: " + e);
        }
    }

    private static Choice fallback(String reason) {
        return new Choice("BouncyCastle", Optional.of(reason), Optional.empty());
    }

    /**
     * Whether {@code signature} over {@code signed} verifies with {@code key} under {@code algorithm}.
     * Any failure (unsupported algorithm, unusable key, undecodable signature value) is false: none
     * of them proves possession.
     */
    static boolean verifies(SubjectPublicKeyInfo key, AlgorithmIdentifier algorithm, byte[] signed, byte[] signature) {
        return verifies(CHOICE.nativeProvider(), key, algorithm, signed, signature);
    }

    /** As above with {@code nativeProvider} first (empty: Bouncy Castle only), so tests can compare both paths. */
    static boolean verifies(Optional<Provider> nativeProvider, SubjectPublicKeyInfo key, AlgorithmIdentifier algorithm,
            byte[] signed, byte[] signature) {
        ContentVerifier verifier = nativeProvider.map(p -> nativeVerifier(p, key, algorithm)).orElse(null);
        if (verifier == null) {
            verifier = bouncyCastleVerifier(key, algorithm);
        }
        if (verifier == null) {
            return false;
        }
        try {
            try (OutputStream out = verifier.getOutputStream()) {
                out.write(signed);
            }
            return verifier.verify(signature);
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * A verifier from the native {@code provider}, or null when it has no such algorithm or cannot
     * take the key. The key goes through the provider's KeyFactory by its JCA name: Bouncy Castle's
     * builder would ask for the key algorithm's OID, a name ACCP does not know (it would refuse every key).
     */
    static ContentVerifier nativeVerifier(Provider provider, SubjectPublicKeyInfo key, AlgorithmIdentifier algorithm) {
        try {
            PublicKey publicKey = KeyFactory.getInstance(keyAlgorithm(key), provider)
                    .generatePublic(new X509EncodedKeySpec(key.getEncoded(ASN1Encoding.DER)));
            return new JcaContentVerifierProviderBuilder().setProvider(provider).build(publicKey).get(algorithm);
        } catch (GeneralSecurityException | IOException | OperatorCreationException | RuntimeException e) {
            return null;
        }
    }

    /** A verifier from Bouncy Castle, or null when it has no such algorithm or cannot take the key. */
    private static ContentVerifier bouncyCastleVerifier(SubjectPublicKeyInfo key, AlgorithmIdentifier algorithm) {
        try {
            return new JcaContentVerifierProviderBuilder().setProvider(BC).build(key).get(algorithm);
        } catch (OperatorCreationException | RuntimeException e) {
            return null;
        }
    }

    /** The JCA key algorithm of a subjectPublicKeyInfo, or its OID for one a native provider does not know by name. */
    private static String keyAlgorithm(SubjectPublicKeyInfo key) {
        String oid = key.getAlgorithm().getAlgorithm().getId();
        return switch (oid) {
            case Oids.EC_PUBLIC_KEY -> "EC";
            case "1.2.840.113549.1.1.1" -> "RSA";
            case "1.2.840.113549.1.1.10" -> "RSASSA-PSS";
            default -> oid;
        };
    }
}
