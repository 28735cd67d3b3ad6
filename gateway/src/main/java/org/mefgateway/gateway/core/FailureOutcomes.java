package org.mefgateway.gateway.core;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.mefgateway.gateway.store.StoreException;
import org.mefgateway.hsm.HsmBusyException;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.HsmUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The failures that are outcomes: refusals, and a CA or store that cannot serve now. Enrolments
 * settle on them; the HTTP edges answer any other request's failure through them too, so an HSM or
 * store fault reads the same on every listener.
 */
public final class FailureOutcomes {
    private static final Logger LOG = LoggerFactory.getLogger(FailureOutcomes.class);

    private FailureOutcomes() {
    }

    /**
     * Refusals and a CA or store that cannot serve now become outcomes; anything else stays a
     * failure (an internal error, whose details stay in the server log).
     */
    static Future<Outcome> settle(Future<Outcome> outcome) {
        return outcome.recover(failure -> of(failure).map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(failure)));
    }

    /** The outcome {@code failure} stands for, or empty for an internal error. */
    public static Optional<Outcome> of(Throwable failure) {
        Throwable cause = unwrap(failure);
        if (cause instanceof OperationException e) {
            return Optional.of(e.code() == ErrorCode.UNAVAILABLE
                    ? new Outcome.Unavailable(e.reason(), e.retryAfter().orElse(Duration.ofSeconds(10)))
                    : Outcome.Refused.of(e));
        }
        if (cause instanceof HsmBusyException) {
            return Optional.of(new Outcome.Unavailable("the CA is busy; nothing was issued, retry shortly", Duration.ofSeconds(1)));
        }
        if (cause instanceof HsmException e) {
            // The circuit is open (HsmUnavailableException): the signer logged the fault once; every request would repeat it.
            if (!(e instanceof HsmUnavailableException)) {
                LOG.error("HSM failure: {}", e.getMessage());
            }
            return Optional.of(new Outcome.Unavailable("the CA's HSM is unavailable; nothing was issued, retry later",
                    Duration.ofSeconds(10)));
        }
        if (cause instanceof StoreException e) {
            LOG.error("store failure: {}", e.getMessage(), e);
            return Optional.of(new Outcome.Unavailable("the certificate store is unavailable; nothing was issued, retry later",
                    Duration.ofSeconds(10)));
        }
        return Optional.empty();
    }

    /**
     * The failure that says what went wrong: an HSM or store fault wherever a library wrapped it
     * (Bouncy Castle's OCSP and CRL builders wrap the signer's failure in their own exception),
     * else the failure without its CompletionException layers.
     */
    public static Throwable unwrap(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof HsmException || cause instanceof StoreException) {
                return cause;
            }
        }
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
