package org.mefgateway.gateway.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every refusal of an Enrolee's request that names a rule passes here once: it is logged with the
 * Enrolee it concerns, counted in {@code mef_policy_decisions_total} and audited
 * ({@code enrolment.refused}). The policy library names rules only; which {@link ErrorCode} a
 * rule's refusal carries is decided here, in {@link #codeOf}.
 */
public final class Refusals {
    private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);
    /** The policy rule that refuses an expired challengePassword (policy-engine PolicyEngine). */
    private static final String CHALLENGE_UNEXPIRED = "challenge.unexpired";
    /** RFC 6585 4: a client over its rate limit is told when to come back. */
    static final Duration RATE_LIMIT_RETRY = Duration.ofHours(1);

    private final Store store;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Counter challengesExpired;

    public Refusals(Store store, MeterRegistry meters, Clock clock) {
        this.store = store;
        this.meters = meters;
        this.clock = clock;
        this.challengesExpired = Counter.builder("mef.challenges.expired")
                .description("CSRs refused because the challengePassword they carried had expired (rule challenge.unexpired); "
                        + "challenges that expire without ever being presented are not counted")
                .register(meters);
    }

    /**
     * The code of a refusal by {@code ruleId}: no proof of possession is a bad request of its own
     * kind, the per-Enrolee limit asks to come back later, an unreadable request is a bad request,
     * and every other rule is policy saying no.
     */
    public static ErrorCode codeOf(String ruleId) {
        return switch (ruleId) {
            case "csr.signature" -> ErrorCode.BAD_POP;
            case "rate.per-enrolee" -> ErrorCode.RATE_LIMITED;
            case "csr.malformed" -> ErrorCode.BAD_REQUEST;
            default -> ErrorCode.NOT_PERMITTED;
        };
    }

    /** A refusal by {@code ruleId}, with the code {@link #codeOf} gives it. */
    public OperationException refuse(StoredEnrolee enrolee, PolicyEngine policy, String ruleId, String reason) {
        return refuse(enrolee, policy, codeOf(ruleId), ruleId, reason);
    }

    /** A refusal by {@code ruleId} with another code than its own (an approval the profile now refuses is a conflict). */
    public OperationException refuse(StoredEnrolee enrolee, PolicyEngine policy, ErrorCode code, String ruleId, String reason) {
        String profile = policy.profile().name();
        LOG.info("denied enrolee={} profile={} rule={} code={} reason={}",
                enrolee.enrolee().id(), profile, ruleId, code, LogText.safe(reason));
        countDecision(profile, "deny", ruleId);
        if (CHALLENGE_UNEXPIRED.equals(ruleId)) {
            challengesExpired.increment();
        }
        // Not awaited: the refusal is sent at once; the event follows in the next group commit.
        store.audit(new AuditEvent.Draft(clock.instant(), "enrolment.refused", "enrolee:" + enrolee.enrolee().id(), "rule:" + ruleId,
                        "code=" + code + " profile=" + profile + " reason=" + reason))
                .whenComplete((recorded, failure) -> {
                    if (failure != null) {
                        LOG.error("refusal of enrolee={} rule={} not in the audit log: {}", enrolee.enrolee().id(), ruleId, failure.toString());
                    }
                });
        return denied(code, profile, ruleId, reason);
    }

    /**
     * The reason the client reads names the profile and the rule, so a device maker can quote it
     * to the operator and the operator can find it in logs and metrics.
     */
    static OperationException denied(ErrorCode code, String profile, String ruleId, String reason) {
        return new OperationException(code, "refused by rule " + ruleId + " of profile " + profile + ": " + reason,
                Optional.of(ruleId), code == ErrorCode.RATE_LIMITED ? Optional.of(RATE_LIMIT_RETRY) : Optional.empty());
    }

    /** An issuance decision, counted with the refusals. */
    void issued(String profile) {
        countDecision(profile, "issue", "none");
    }

    private void countDecision(String profile, String result, String rule) {
        Counter.builder("mef.policy.decisions")
                .description("Policy decisions on CSRs, by profile, result (issue or deny) and the rule that denied")
                .tags("profile", profile, "result", result, "rule", rule)
                .register(meters)
                .increment();
    }
}
