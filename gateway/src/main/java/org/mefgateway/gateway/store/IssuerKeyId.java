package org.mefgateway.gateway.store;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.Optional;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * How the ledger names the CA key that signed a certificate: the SHA-1 of that key's
 * subjectPublicKey BIT STRING in lower-case hex. That is the key identifier this CA writes into
 * every certificate's authorityKeyIdentifier (RFC 5280 4.2.1.2 method 1) and the issuerKeyHash of
 * an OCSP request using SHA-1 (RFC 6960 4.1.1), so it stays right when an operator renames a key in
 * the configuration or replaces its CA certificate.
 */
public final class IssuerKeyId {
    private static final int SHA1_BYTES = 20;

    private IssuerKeyId() {
    }

    /** The id of a CA key, from its public key. */
    public static String of(PublicKey key) {
        return HexFormat.of().formatHex(sha1(SubjectPublicKeyInfo.getInstance(key.getEncoded()).getPublicKeyData().getBytes()));
    }

    /**
     * The id of the key that signed {@code der}, as its authorityKeyIdentifier states it; empty when
     * the DER is not a certificate or carries no 20-byte key identifier (then no CA key of ours signed it).
     */
    static Optional<String> ofCertificate(byte[] der) {
        try {
            AuthorityKeyIdentifier aki = AuthorityKeyIdentifier.fromExtensions(
                    Certificate.getInstance(der).getTBSCertificate().getExtensions());
            if (aki == null || aki.getKeyIdentifier() == null || aki.getKeyIdentifier().length != SHA1_BYTES) {
                return Optional.empty();
            }
            return Optional.of(HexFormat.of().formatHex(aki.getKeyIdentifier()));
        } catch (RuntimeException notACertificate) {
            return Optional.empty();
        }
    }

    private static byte[] sha1(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is always available", e);
        }
    }
}
