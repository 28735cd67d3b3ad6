package org.mefgateway.gateway.est;

import java.time.Duration;
import java.util.Optional;

/**
 * A request the MEF answers with an error: the HTTP status, a reason the client can act on
 * (sent as text/plain), the policy rule behind it if any, and Retry-After for temporary refusals.
 * Like globalsign/est's backend errors, the error carries its own status; anything else that
 * fails a request is an internal error and its details stay in the server log.
 */
public final class EstError extends RuntimeException {
    private final int status;
    private final Optional<String> ruleId;
    private final Optional<Duration> retryAfter;

    private EstError(int status, String reason, Optional<String> ruleId, Optional<Duration> retryAfter) {
        super(reason, null, false, false);
        this.status = status;
        this.ruleId = ruleId;
        this.retryAfter = retryAfter;
    }

    public static EstError of(int status, String reason) {
        return new EstError(status, reason, Optional.empty(), Optional.empty());
    }

    public static EstError unavailable(String reason, Duration retryAfter) {
        return new EstError(503, reason, Optional.empty(), Optional.of(retryAfter));
    }

    public int status() {
        return status;
    }

    public String reason() {
        return getMessage();
    }

    public Optional<String> ruleId() {
        return ruleId;
    }

    public Optional<Duration> retryAfter() {
        return retryAfter;
    }
}
