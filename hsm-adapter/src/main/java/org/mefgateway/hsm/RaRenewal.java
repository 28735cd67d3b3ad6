package org.mefgateway.hsm;

import java.security.cert.X509Certificate;

/**
 * Renewal of the SCEP RA certificate (issue 17: "{@code mefgate token} lists and renews it"): the
 * CA key certifies the same RA key again, with a new serial and {@link RaKey#VALIDITY} bounded by
 * the CA certificate, and the new certificate replaces the old one on the token. The key stays,
 * so what a device encrypts to the RA key's public key still decrypts; the gateway reads the RA
 * certificate when it starts and serves the new one (GetCACert, RFC 8894 4.2.1.2) from then on.
 */
public final class RaRenewal {
    private RaRenewal() {
    }

    /** The label of the RA key of the CA key labelled {@code caKeyLabel} (see {@link RaKey#config}). */
    public static String raKeyLabel(String caKeyLabel) {
        return caKeyLabel + RaKey.LABEL_SUFFIX;
    }

    /**
     * Has the CA key of {@code caToken} certify its RA key again and stores the certificate beside
     * the RA key, replacing the old one; the new certificate.
     *
     * @throws KeyNotFoundException when the token holds no RA key or no CA key of that label
     */
    public static X509Certificate renew(HsmConfig caToken) throws HsmException {
        try (Pkcs11Token token = Pkcs11Token.openForDecryptingKey(RaKey.config(caToken))) {
            if (!token.hasCaKey()) {
                throw new KeyNotFoundException("no SCEP RA key '" + token.config().keyLabel() + "' on token '" + caToken.tokenLabel()
                        + "' (the gateway generates it when it starts, as 'mefgate init' does)");
            }
            CaKey ra = token.caKey();
            CaKey ca = token.caKeys().stream().filter(k -> k.label().equals(caToken.keyLabel())).findFirst()
                    .orElseThrow(() -> new KeyNotFoundException("no CA key '" + caToken.keyLabel() + "' on token '"
                            + caToken.tokenLabel() + "' to certify the SCEP RA key"));
            return token.storeCertificate(RaKey.certify(ra, ca)).certificate();
        }
    }
}
