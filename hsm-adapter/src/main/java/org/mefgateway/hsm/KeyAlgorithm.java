package org.mefgateway.hsm;

import java.security.PrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;

/** The CA key types the gateway generates on a token, and the signature algorithm each signs with. */
public enum KeyAlgorithm {
    /** EC P-256 with ECDSA/SHA-256: the oneM2M profile (TS-0003 10.1) and the default. */
    EC_P256("EC", "SHA256withECDSA"),
    /** RSA 2048 with PKCS#1 v1.5/SHA-256, for relying parties that need an RSA root. */
    RSA_2048("RSA", "SHA256withRSA");

    private final String keyType;
    private final String signatureAlgorithm;
    private final AlgorithmIdentifier algorithmId;

    KeyAlgorithm(String keyType, String signatureAlgorithm) {
        this.keyType = keyType;
        this.signatureAlgorithm = signatureAlgorithm;
        this.algorithmId = new DefaultSignatureAlgorithmIdentifierFinder().find(signatureAlgorithm);
    }

    /** The JCA signature algorithm name, e.g. SHA256withECDSA. */
    public String signatureAlgorithm() {
        return signatureAlgorithm;
    }

    /** The X.509 AlgorithmIdentifier of that signature. */
    public AlgorithmIdentifier algorithmId() {
        return algorithmId;
    }

    /** Operators' spelling: ec-p256, rsa-2048. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace("ec_", "ec-").replace("rsa_", "rsa-");
    }

    public static KeyAlgorithm parse(String text) {
        for (KeyAlgorithm a : values()) {
            if (a.cliName().equalsIgnoreCase(text)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown key algorithm '" + text + "' (use ec-p256 or rsa-2048)");
    }

    /** The algorithm of a key found on the token (we only ever put P-256 and RSA-2048 keys there). */
    static KeyAlgorithm of(PrivateKey key) throws HsmException {
        for (KeyAlgorithm a : values()) {
            if (a.keyType.equals(key.getAlgorithm())) {
                return a;
            }
        }
        throw new HsmException("unsupported CA key type " + key.getAlgorithm());
    }
}
