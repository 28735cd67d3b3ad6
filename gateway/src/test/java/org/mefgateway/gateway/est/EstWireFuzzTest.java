package org.mefgateway.gateway.est;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.MalformedCsrException;

/**
 * A simpleenroll / simplereenroll / serverkeygen body as the gateway reads it
 * ({@code RegistrationAuthority.enrol}): RFC 8951 base64 with white space, then the PKCS#10
 * parse, then (serverkeygen) the facts re-keyed to a generated key. Whatever the bytes, the only
 * outcomes are a CSR, an {@link EstError} with a 4xx, or {@link MalformedCsrException} (which the
 * gateway answers with 400): anything else would be a 500.
 */
class EstWireFuzzTest {
    private static final PublicKey GENERATED = generatedKey();

    @Timeout(10)
    @FuzzTest
    void simpleenrollBody(byte[] body) {
        byte[] der;
        try {
            der = EstWire.decodeBase64(body);
        } catch (EstError refused) {
            assertTrue(refused.status() >= 400 && refused.status() < 500, "a refusal is a 4xx, not " + refused.status());
            assertNotNull(refused.reason());
            return;
        }
        CsrFacts csr;
        try {
            csr = CsrParser.parse(der);
        } catch (MalformedCsrException refused) {
            return;
        }
        try {
            CsrFacts rekeyed = csr.withSubjectPublicKey(GENERATED.getEncoded());
            assertArrayEquals(GENERATED.getEncoded(), rekeyed.subjectPublicKeyInfo());
        } catch (MalformedCsrException e) {
            throw new AssertionError("a key the gateway generated must always be readable", e);
        }
    }

    private static PublicKey generatedKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair().getPublic();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
