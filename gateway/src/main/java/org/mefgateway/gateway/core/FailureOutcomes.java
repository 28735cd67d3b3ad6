package org.mefgateway.gateway.core;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.mefgateway.gateway.store.StoreException;
import org.mefgateway.hsm.HsmBusyException;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.HsmUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The failures of an enrolment that are outcomes: refusals, and a CA or store that cannot serve now. */
final class FailureOutcomes {
    private static final Logger LOG = LoggerFactory.getLogger(FailureOutcomes.class);

    private FailureOutcomes() {
    }

    /**
     * Refusals and a CA or store that cannot serve now become outcomes; anything else stays a
     * failure (an internal error, whose details stay in the server log).
     */
    static Future<Outcome> settle(Future<Outcome> outcome) {
        return outcome.recover(failure -> {
            Throwable cause = unwrap(failure);
            if (cause instanceof OperationException e) {
                return Future.succeededFuture(e.code() == ErrorCode.UNAVAILABLE
                        ? new Outcome.Unavailable(e.reason(), e.retryAfter().orElse(Duration.ofSeconds(10)))
                        : Outcome.Refused.of(e));
            }
            if (cause instanceof HsmBusyException) {
                return Future.succeededFuture(new Outcome.Unavailable("the CA is busy; nothing was issued, retry shortly",
                        Duration.ofSeconds(1)));
            }
            if (cause instanceof HsmException e) {
                // The circuit is open (HsmUnavailableException): the signer logged the fault once; every request would repeat it.
                if (!(e instanceof HsmUnavailableException)) {
                    LOG.error("HSM failure: {}", e.getMessage());
                }
                return Future.succeededFuture(new Outcome.Unavailable("the CA's HSM is unavailable; nothing was issued, retry later",
                        Duration.ofSeconds(10)));
            }
            if (cause instanceof StoreException e) {
                LOG.error("store failure: {}", e.getMessage(), e);
                return Future.succeededFuture(new Outcome.Unavailable(
                        "the certificate store is unavailable; nothing was issued, retry later", Duration.ofSeconds(10)));
            }
            return Future.failedFuture(failure);
        });
    }

    /** An HSM or store fault wherever a library wrapped it, else the failure without its CompletionException layers. */
    private static Throwable unwrap(Throwable t) {
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
