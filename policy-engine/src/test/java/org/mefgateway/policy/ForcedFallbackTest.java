package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.P256_OTHER;
import static org.mefgateway.policy.TestCsrs.csr;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Run only by the surefire execution "fallback-forced" (see pom.xml), in a JVM started with
 * {@code -Dmef.crypto.native=false}: the once-per-JVM choice really falls back, says why, and still verifies.
 * That execution also runs CsrParserTest and PolicyEngineTest on the fallback.
 */
class ForcedFallbackTest {

    @Test
    void propertyForcesBouncyCastleAndNamesTheReason() {
        assumeTrue("false".equals(System.getProperty("mef.crypto.native")), "run by the fallback-forced execution");
        assertEquals("BouncyCastle", SignatureVerification.provider());
        assertEquals(Optional.of("forced off by -Dmef.crypto.native=false"), SignatureVerification.fallbackReason());
    }

    @Test
    void fallbackVerifiesAndRefuses() throws Exception {
        assumeTrue("false".equals(System.getProperty("mef.crypto.native")), "run by the fallback-forced execution");
        assertTrue(CsrParser.parse(csr(P256).der()).signatureValid());
        assertFalse(CsrParser.parse(csr(P256).signedBy(P256_OTHER).der()).signatureValid());
    }
}
