package org.mefgateway.gateway.core;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import org.mefgateway.policy.Profile;

/**
 * Key pairs the MEF generates for constrained Enrolees (RFC 7030 4.4 serverkeygen): of the type
 * the profile prefers, from the JDK's CSPRNG, held only in memory until the response is sent.
 */
final class ServerKeys {
    private ServerKeys() {
    }

    /** P-256 when the profile accepts it (TS-0003 10.1), else its smallest curve, else RSA of its minimum size. */
    static KeyPair generate(Profile.Keys keys) throws GeneralSecurityException {
        if (!keys.ecCurves().isEmpty()) {
            KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
            ec.initialize(new ECGenParameterSpec(keys.ecCurves().stream().sorted().findFirst().orElseThrow()));
            return ec.generateKeyPair();
        }
        if (keys.rsaMinBits() > 0) {
            KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
            rsa.initialize(keys.rsaMinBits());
            return rsa.generateKeyPair();
        }
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    }
}
