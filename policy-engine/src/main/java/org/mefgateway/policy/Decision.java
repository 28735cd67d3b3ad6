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
     * {@code reason} says what is wrong in words a device maker or operator can act on, and
     * {@code httpStatus} is what the gateway answers: 400 malformed, 401 unauthenticated,
     * 403 refused by policy.
     */
    record Deny(String profile, String ruleId, String reason, int httpStatus) implements Decision {
        public Deny {
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(ruleId, "ruleId");
            Objects.requireNonNull(reason, "reason");
            if (httpStatus < 400 || httpStatus > 499) {
                throw new IllegalArgumentException("a denial maps to a 4xx status, not " + httpStatus);
            }
        }
    }
}
