package org.mefgateway.gateway.publication;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.mefgateway.gateway.ca.CrlPublisher;
import org.mefgateway.gateway.ca.DelegatedResponder;
import org.mefgateway.gateway.ca.OcspResponder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every CA key's revocation information current: its CRL, signed when a revocation is
 * missing from the newest one (after each revocation, and found by the checks), when none is
 * fresh (older than {@code publication.crlRefreshMinutes}); and its OCSP responder certificate,
 * renewed before it expires. Checked at start and every minute. When a CRL a revocation needs
 * cannot be signed (the HSM is down), signing is tried again every {@link #RETRY} until the key
 * signs, so CRL users learn of the revocation as soon as the HSM is back, not at the next
 * scheduled refresh; {@code mef_crl_revocations_pending} counts what waits meanwhile.
 */
public final class RevocationPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(RevocationPublisher.class);
    static final Duration RETRY = Duration.ofSeconds(5);
    static final Duration CHECK = Duration.ofMinutes(1);

    private final Vertx vertx;
    private final WorkerExecutor workers;
    private final List<CrlPublisher> crls;
    private final OcspResponder ocsp;
    private final Duration crlRefresh;
    private final AtomicBoolean retrying = new AtomicBoolean();

    private RevocationPublisher(Vertx vertx, WorkerExecutor workers, List<CrlPublisher> crls, OcspResponder ocsp, Duration crlRefresh) {
        this.vertx = vertx;
        this.workers = workers;
        this.crls = List.copyOf(crls);
        this.ocsp = ocsp;
        this.crlRefresh = crlRefresh;
    }

    /**
     * Signs what is missing or due for every key now (CRLs, responder certificates), then checks
     * every minute. A failure here does not stop the gateway: it is logged, and retried.
     */
    public static RevocationPublisher start(Vertx vertx, WorkerExecutor workers, List<CrlPublisher> crls, OcspResponder ocsp,
                                            Duration crlRefresh) throws Exception {
        RevocationPublisher publisher = new RevocationPublisher(vertx, workers, crls, ocsp, crlRefresh);
        publisher.check().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        vertx.setPeriodic(CHECK.toMillis(), id -> publisher.check());
        return publisher;
    }

    /**
     * After a revocation: signs the CRL of every key that misses a revocation (the revoked
     * certificate's key, and any other still waiting). Completes with the number of the CRL that
     * now lists {@code serialHex}, or empty when it could not be signed now (then it is retried).
     */
    public Future<Optional<Long>> afterRevocation(String serialHex) {
        return workers.executeBlocking(() -> signMissing(serialHex), false).recover(e -> {
            LOG.error("CRL not re-signed after revoking {} ({}); retrying every {} s until the CA key signs", serialHex, e.toString(),
                    RETRY.toSeconds());
            retryUntilSigned();
            return Future.succeededFuture(Optional.empty());
        });
    }

    /** The minute check: missing revocations, stale CRLs, responder certificates, expired cached OCSP answers. */
    private Future<Void> check() {
        return workers.executeBlocking(() -> {
            RuntimeException failed = null;
            for (CrlPublisher crl : crls) {
                try {
                    if (!crl.missing().isEmpty() || crl.due(crlRefresh)) {
                        crl.regenerate();
                    }
                } catch (RuntimeException e) {
                    failed = e;
                    LOG.error("CRL of CA key '{}' not signed (the previous CRL stays published): {}", crl.keyName(), e.toString());
                }
            }
            for (DelegatedResponder responder : ocsp.responders()) {
                try {
                    responder.renewIfDue();
                } catch (RuntimeException e) {
                    LOG.error("no valid OCSP responder certificate for CA key '{}' (OCSP answers for it that need signing get 503): {}",
                            responder.caKey(), e.toString());
                }
            }
            ocsp.forgetExpired();
            if (failed != null) {
                retryUntilSigned();
            }
            return null;
        }, false);
    }

    /** Signs every CRL that misses a revocation; returns the number of the one that lists {@code serialHex}, if any. */
    private Optional<Long> signMissing(String serialHex) {
        Optional<Long> listing = Optional.empty();
        RuntimeException failed = null;
        for (CrlPublisher crl : crls) {
            try {
                java.util.Set<String> missing = crl.missing();
                if (!missing.isEmpty()) {
                    long number = crl.regenerate().number();
                    if (missing.contains(serialHex)) {
                        listing = Optional.of(number);
                    }
                }
            } catch (RuntimeException e) {
                failed = e;
            }
        }
        if (failed != null) {
            throw failed;
        }
        return listing;
    }

    /** One chain of retries at a time, until no CRL misses a revocation. */
    private void retryUntilSigned() {
        if (retrying.compareAndSet(false, true)) {
            vertx.setTimer(RETRY.toMillis(), id -> workers.executeBlocking(() -> signMissing(""), false).onComplete(signed -> {
                retrying.set(false);
                if (signed.failed()) {
                    retryUntilSigned();
                }
            }));
        }
    }
}
