package org.mefgateway.policy.fuzz;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.MalformedCsrException;

/**
 * {@code CsrParser.parse} gets the body of an unauthenticated request: whatever the bytes, it
 * returns {@link CsrFacts} or throws {@link MalformedCsrException} (a 400). Any other exception,
 * error or hang is a finding. {@code mvn verify} runs the kept inputs in
 * {@code CsrParserFuzzTestInputs/parse/}; {@code ops/fuzz} fuzzes.
 */
class CsrParserFuzzTest {

    @Timeout(10)
    @FuzzTest
    void parse(byte[] der) {
        CsrFacts facts;
        try {
            facts = CsrParser.parse(der);
        } catch (MalformedCsrException refused) {
            assertNotNull(refused.getMessage(), "a refusal carries a reason for the client");
            return;
        }
        // Everything the rules read must be there: a null here would surface as a 500 later.
        assertNotNull(facts.keyAlgorithm());
        assertNotNull(facts.subject());
        assertNotNull(facts.signatureAlgorithmOid());
        assertNotNull(facts.challengePassword());
    }
}
