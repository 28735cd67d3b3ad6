package org.mefgateway.policy;

import java.util.Objects;

/** The outcome of {@link PolicyEngine#decide}: issue this template, or deny with a reason. */
public sealed interface Decision permits Decision.Issue, Decision.Deny {

    /** Issue a certificate built exactly from this template. */
    record Issue(String profile, CertificateTemplate template) implements Decision {
        public Issue {
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(template, "template");
        }
    }

    /**
     * Refuse. {@code ruleId} names the rule that refused (stable, for logs, metrics and audit),
     * and {@code reason} says what is wrong in words a device maker or operator can act on. How
     * the refusal is answered (which status, which error code) is the gateway's choice, by rule id.
     */
    record Deny(String profile, String ruleId, String reason) implements Decision {
        public Deny {
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(ruleId, "ruleId");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
