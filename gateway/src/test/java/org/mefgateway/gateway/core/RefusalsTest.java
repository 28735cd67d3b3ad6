package org.mefgateway.gateway.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mefgateway.gateway.ErrorResponses;

/**
 * Which code a refusal by each rule carries, and the EST status that code gets: the statuses of
 * the rules are what they were when the policy library carried them (400 for no proof of
 * possession and an unreadable CSR, 429 for the per-Enrolee limit, 403 for every other rule).
 */
class RefusalsTest {

    @ParameterizedTest(name = "{0} -> {1} ({2})")
    @CsvSource({
            // The policy library's rules, in the engine's order.
            "csr.signature,               BAD_POP,        400",
            "csr.signature-algorithm,     NOT_PERMITTED,  403",
            "key.type,                    NOT_PERMITTED,  403",
            "enrolee.type,                NOT_PERMITTED,  403",
            "challenge.channel-binding,   NOT_PERMITTED,  403",
            "challenge.present,           NOT_PERMITTED,  403",
            "challenge.known,             NOT_PERMITTED,  403",
            "challenge.enrolee,           NOT_PERMITTED,  403",
            "challenge.unused,            NOT_PERMITTED,  403",
            "challenge.unexpired,         NOT_PERMITTED,  403",
            "reenrol.same-names,          NOT_PERMITTED,  403",
            "reenrol.rekey,               NOT_PERMITTED,  403",
            "reenrol.window,              NOT_PERMITTED,  403",
            "subject.identity,            NOT_PERMITTED,  403",
            "subject.rdns,                NOT_PERMITTED,  403",
            "san.registered-identity,     NOT_PERMITTED,  403",
            "san.count,                   NOT_PERMITTED,  403",
            "san.type,                    NOT_PERMITTED,  403",
            "san.pattern,                 NOT_PERMITTED,  403",
            "eku.suids,                   NOT_PERMITTED,  403",
            "extensions.no-ca,            NOT_PERMITTED,  403",
            "extensions.unknown-critical, NOT_PERMITTED,  403",
            "extensions.unlisted,         NOT_PERMITTED,  403",
            "validity.ca-expiry,          NOT_PERMITTED,  403",
            "rate.per-enrolee,            RATE_LIMITED,   429",
            // The core's own rules.
            "csr.malformed,               BAD_REQUEST,    400",
            "enrolee.label,               NOT_PERMITTED,  403",
            "enrolee.no-pending-command,  NOT_PERMITTED,  403",
            "reenrol.current-certificate, NOT_PERMITTED,  403",
            "enrol.bootstrap-certificate, NOT_PERMITTED,  403",
            "serverkeygen.approval,       NOT_PERMITTED,  403",
            "approval.pending-limit,      NOT_PERMITTED,  403",
            "approval.rejected,           NOT_PERMITTED,  403",
            "redelivery.revoked,          NOT_PERMITTED,  403",
    })
    void eachRuleRefusesWithItsCodeAndEstStatus(String ruleId, ErrorCode code, int estStatus) {
        assertEquals(code, Refusals.codeOf(ruleId));
        assertEquals(estStatus, ErrorResponses.status(Refusals.codeOf(ruleId)));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"rate.per-enrolee, PT1H", "eku.suids, ''", "csr.signature, ''"})
    void onlyTheRateLimitAsksToComeBackInAnHour(String ruleId, String retryAfter) {
        OperationException refused = Refusals.denied(Refusals.codeOf(ruleId), "ae", ruleId, "why");

        assertEquals(retryAfter.isEmpty() ? Optional.empty() : Optional.of(Duration.parse(retryAfter)), refused.retryAfter());
        assertEquals(Optional.of(ruleId), refused.ruleId());
        assertEquals("refused by rule " + ruleId + " of profile ae: why", refused.reason());
    }
}
