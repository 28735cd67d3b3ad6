package org.mefgateway.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * One check of the enrolment policy. Its {@code id} is stable: logs, metrics, the audit trail
 * and operators' alerts refer to it. {@code httpStatus} is what the gateway answers when the
 * rule refuses a request. The rules themselves, with the clause each enforces, are in
 * {@link PolicyEngine}.
 *
 * @param id         stable rule id, e.g. {@code challenge.unused}
 * @param httpStatus 4xx status of a refusal
 * @param condition  finds the violation, if any
 */
public record Rule(String id, int httpStatus, Condition condition) {

    /** The test a rule applies. */
    @FunctionalInterface
    public interface Condition {
        /** Why the request breaks the rule, in words the Enrolee's maker can act on; empty if it complies. */
        Optional<String> violation(CsrFacts csr, EnrolmentContext ctx, Profile profile);
    }

    public Rule {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(condition, "condition");
    }

    /** The refusal this rule gives the request, or empty when the request complies. */
    public Optional<Decision.Deny> check(CsrFacts csr, EnrolmentContext ctx, Profile profile) {
        return condition.violation(csr, ctx, profile)
                .map(reason -> new Decision.Deny(profile.name(), id, reason, httpStatus));
    }
}
