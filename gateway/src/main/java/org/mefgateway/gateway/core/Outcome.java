package org.mefgateway.gateway.core;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How an enrolment ended, for the protocol edge to answer in its own terms (EST: 200, 202, 4xx,
 * 503). A failure that is none of these is an internal error.
 */
public sealed interface Outcome {

    /**
     * Signed and durably recorded: the certificate (DER), the CA chain it was issued under, and for
     * a server-generated key the private key it is for (never stored).
     */
    record Issued(byte[] certificate, List<X509Certificate> chain, Optional<PrivateKey> privateKey) implements Outcome {
    }

    /** Held for an operator's approval (or being signed after one): the client repeats the request after {@code retryAfter}. */
    record Held(String requestId, Duration retryAfter) implements Outcome {
    }

    /** Refused, with a reason the client can act on and, for a policy refusal, the rule behind it. */
    record Refused(ErrorCode code, Optional<String> ruleId, String reason, Optional<Duration> retryAfter) implements Outcome {
        static Refused of(OperationException e) {
            return new Refused(e.code(), e.ruleId(), e.reason(), e.retryAfter());
        }

        /** The same refusal as the exception the edges answer. */
        public OperationException exception() {
            return new OperationException(code, reason, ruleId, retryAfter);
        }
    }

    /** Nothing was issued because the HSM or the store cannot serve now; try again after {@code retryAfter}. */
    record Unavailable(String reason, Duration retryAfter) implements Outcome {
    }
}
