package org.mefgateway.enrolee;

import java.time.Duration;
import java.util.Optional;

/**
 * The MEF answered an EST or MEF request with a status other than the success the contract
 * names: 4xx (refused), 5xx or anything unexpected (server error), or 202 (issuance deferred).
 * It carries what the server said so the user sees the status, the reason and, for 202,
 * when to retry.
 */
public class EstException extends EnrolmentException {
    private final String operation;
    private final int status;
    private final String reason;
    private final Duration retryAfter;

    /**
     * @param operation  the request, e.g. {@code /simpleenroll}
     * @param status     the HTTP status the MEF sent
     * @param reason     the server's text/plain reason, one line, possibly empty
     * @param retryAfter the Retry-After the server sent, or null
     */
    public EstException(String operation, int status, String reason, Duration retryAfter) {
        this(operation, status, reason, retryAfter, "");
    }

    /** The same answer, with a hint for the user appended to the message (e.g. how to resume). */
    EstException withHint(String hint) {
        return new EstException(operation, status, reason, retryAfter, "; " + hint);
    }

    private EstException(String operation, int status, String reason, Duration retryAfter, String hint) {
        super(failureOf(status), messageOf(operation, status, reason, retryAfter) + hint);
        this.operation = operation;
        this.status = status;
        this.reason = reason;
        this.retryAfter = retryAfter;
    }

    public String operation() {
        return operation;
    }

    public int status() {
        return status;
    }

    /** The server's reason text (one line, possibly empty). */
    public String reason() {
        return reason;
    }

    /** The delay the server asked for before retrying, if it sent Retry-After. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    private static Failure failureOf(int status) {
        if (status == 202) {
            return Failure.PENDING;
        }
        if (status >= 400 && status < 500) {
            return Failure.REFUSED;
        }
        return Failure.UNAVAILABLE;
    }

    private static String messageOf(String operation, int status, String reason, Duration retryAfter) {
        if (status == 202) {
            return operation + " pending" + (reason.isEmpty() ? "" : " (" + reason + ")") + ", "
                    + (retryAfter == null ? "retry later (the MEF sent no Retry-After)"
                                          : "retry after " + retryAfter.toSeconds() + " s");
        }
        String verb = status >= 400 && status < 500 ? "MEF refused " : "MEF failed ";
        return verb + operation + ": HTTP " + status + (reason.isEmpty() ? "" : ": " + reason)
                + (retryAfter == null ? "" : "; retry after " + retryAfter.toSeconds() + " s");
    }
}
