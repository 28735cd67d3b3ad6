package org.mefgateway.gateway.core;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A request refused with a reason the caller can act on: the {@link ErrorCode}, the reason (sent
 * to the client as text), the policy rule behind it if any, and when to try again for temporary
 * refusals. Anything else that fails a request is an internal error whose details stay in the
 * server log.
 */
public final class OperationException extends RuntimeException {
    private final ErrorCode code;
    private final Optional<String> ruleId;
    private final Optional<Duration> retryAfter;

    public OperationException(ErrorCode code, String reason, Optional<String> ruleId, Optional<Duration> retryAfter) {
        super(Objects.requireNonNull(reason, "reason"), null, false, false);
        this.code = Objects.requireNonNull(code, "code");
        this.ruleId = Objects.requireNonNull(ruleId, "ruleId");
        this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
    }

    public static OperationException of(ErrorCode code, String reason) {
        return new OperationException(code, reason, Optional.empty(), Optional.empty());
    }

    public static OperationException unavailable(String reason, Duration retryAfter) {
        return new OperationException(ErrorCode.UNAVAILABLE, reason, Optional.empty(), Optional.of(retryAfter));
    }

    public ErrorCode code() {
        return code;
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
