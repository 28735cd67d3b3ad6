package org.mefgateway.gateway.est;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Optional;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.gateway.ErrorResponses;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.OperationException;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.MalformedCsrException;

/**
 * A simpleenroll / simplereenroll / serverkeygen body as the gateway reads it
 * (the EST edge unwraps it, the core's IssuancePipeline parses it): RFC 8951 base64 with white space, then the PKCS#10
 * parse, then (serverkeygen) the facts re-keyed to a generated key. Whatever the bytes, the only
 * outcomes are a CSR, an {@link OperationException} BAD_REQUEST under rule body.base64 (the only
 * refusal of the base64 step, answered 400), or
 * {@link MalformedCsrException} (which the gateway answers with 400): anything else would be a
 * 500. Beyond that:
 * <ul>
 *   <li>the same body gives the same result: the same DER, or the same refusal;</li>
 *   <li>decode, encode, decode is stable: what decodes, sent back as the gateway's own wire format
 *       ({@link EstWire#encodeBase64}), decodes to the same DER.</li>
 * </ul>
 */
class EstWireFuzzTest {
    private static final PublicKey GENERATED = generatedKey();

    @Timeout(10)
    @FuzzTest
    void simpleenrollBody(byte[] body) {
        byte[] der;
        try {
            der = EstWire.decodeBase64(body);
        } catch (OperationException refused) {
            assertEquals(ErrorCode.BAD_REQUEST, refused.code(), "a body that is not base64 is a bad request, not " + refused.code());
            assertEquals(400, ErrorResponses.status(refused.code()));
            assertEquals(Optional.of("body.base64"), refused.ruleId());
            assertNotNull(refused.reason());
            OperationException again = assertThrows(OperationException.class, () -> EstWire.decodeBase64(body.clone()),
                    "the same body is refused again");
            assertEquals(refused.code() + " " + refused.reason(), again.code() + " " + again.reason(),
                    "the same body is refused the same way");
            return;
        }
        // The same DER parses to the same facts or is refused for the same reason: that is csr-parse's
        // property (CsrParserFuzzTest), so only the DER is compared here, without parsing it again.
        assertArrayEquals(der, EstWire.decodeBase64(body.clone()), "the same body decodes to the same DER");
        if (der.length > 0) {
            // An empty DER has no wire form: its encoding is the empty body, which is refused as empty.
            byte[] wire = EstWire.encodeBase64(der).getBytes(StandardCharsets.US_ASCII);
            assertArrayEquals(der, EstWire.decodeBase64(wire), "decode, encode, decode gives the same DER");
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
