package org.mefgateway.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * One check of the enrolment policy. Its {@code id} is stable: logs, metrics, the audit trail
 * and operators' alerts refer to it, and the gateway chooses its answer from it (this library
 * knows no protocol). The rules themselves, with the clause each enforces, are in
 * {@link PolicyEngine}.
 *
 * @param id        stable rule id, e.g. {@code challenge.unused}
 * @param kind      whether it authorises the caller or shapes the certificate (see {@link Kind})
 * @param condition finds the violation, if any
 */
public record Rule(String id, Kind kind, Condition condition) {

    /**
     * What a rule judges. Authorisation (who may ask) is {@link #CHALLENGE} and {@link #CALLER};
     * the certificate profile (what may be certified) is {@link #PROFILE}. The split follows what
     * a later look at a request can still know: the challenge and the TLS session it arrived on
     * are spent on arrival, while the caller's registration, the certificate it renews and its
     * issuance count, and the CSR itself, are still there when an operator approves a held
     * request or {@code mefgate policy check} tries a CSR.
     */
    public enum Kind {
        /** The credentials presented with the request and consumed by it: challengePassword, TLS channel binding. */
        CHALLENGE,
        /** Who the caller is and what it holds: its registered type, the certificate it renews, its recent issuances. */
        CALLER,
        /** The certificate asked for: proof of possession, signature algorithm, key, subject, SAN, EKU, extensions, validity. */
        PROFILE
    }

    /** The test a rule applies. */
    @FunctionalInterface
    public interface Condition {
        /** Why the request breaks the rule, in words the Enrolee's maker can act on; empty if it complies. */
        Optional<String> violation(CsrFacts csr, EnrolmentContext ctx, Profile profile);
    }

    public Rule {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(condition, "condition");
    }

    /** The refusal this rule gives the request, or empty when the request complies. */
    public Optional<Decision.Deny> check(CsrFacts csr, EnrolmentContext ctx, Profile profile) {
        return condition.violation(csr, ctx, profile).map(reason -> new Decision.Deny(profile.name(), id, reason));
    }
}
