package org.mefgateway.gateway.scep;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HexFormat;
import org.mefgateway.gateway.store.HeldRequest;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;

/**
 * SCEP transactions held for an operator's approval, and what a CertPoll of one is answered (RFC
 * 8894 3.3.3). A CertPoll carries no CSR: it names its PKCSReq by transactionID and is signed with
 * the same key. The key is what can be trusted (the PKCSReq proved it is the CSR's key, see
 * {@link ScepApi}), so a held request is found by the signer's key and transactionID together, and
 * another key naming the same transactionID finds nothing.
 */
final class PendingTransactions {
    private final Store store;
    private final WorkerExecutor storeWorkers;
    private final Clock clock;

    PendingTransactions(Store store, WorkerExecutor storeWorkers, Clock clock) {
        this.store = store;
        this.storeWorkers = storeWorkers;
        this.clock = clock;
    }

    /** A PKCSReq or RenewalReq of {@code signer} in {@code transactionId} was held as request {@code requestId}. */
    Future<Void> held(X509Certificate signer, String transactionId, String requestId) {
        return storeWorkers.executeBlocking(() -> {
            store.saveScepTransaction(keyOf(signer), transactionId, requestId, clock.instant());
            return null;
        }, false);
    }

    /**
     * RFC 8894 3.3.3: PENDING while the operator has not decided, the certificate once approved and
     * recorded (PENDING while it is being signed), FAILURE badRequest once rejected, revoked since,
     * or when no request of this key and transactionID is held.
     */
    Future<ScepWire.Reply> poll(X509Certificate signer, String transactionId) {
        return storeWorkers.executeBlocking(() -> {
            HeldRequest held = store.scepHeldRequest(keyOf(signer), transactionId).orElseThrow(() -> new ScepFailure(FailInfo.BAD_REQUEST,
                    "no request of this key in transaction " + transactionId + " is held for approval"));
            return switch (held.status()) {
                case PENDING -> new ScepWire.Reply.Pending();
                case REJECTED -> throw new ScepFailure(FailInfo.BAD_REQUEST, "an operator rejected this request: "
                        + held.reason().orElse("no reason given"));
                case APPROVED -> {
                    IssuedCertificate cert = store.certificate(held.serialHex().orElseThrow()).orElse(null);
                    if (cert == null) {
                        yield new ScepWire.Reply.Pending(); // approved, being signed right now
                    }
                    if (cert.status() != IssuedCertificate.Status.ISSUED) {
                        throw new ScepFailure(FailInfo.BAD_REQUEST, "the certificate issued for this request, " + cert.serialHex()
                                + ", has been revoked since");
                    }
                    yield new ScepWire.Reply.Issued(cert.der());
                }
            };
        }, false);
    }

    /** SHA-256 (hex) of the certificate's SubjectPublicKeyInfo. */
    static String keyOf(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getPublicKey().getEncoded()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }
}
