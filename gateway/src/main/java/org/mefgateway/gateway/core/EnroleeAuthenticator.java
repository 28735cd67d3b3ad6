package org.mefgateway.gateway.core;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Locale;
import java.util.Optional;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.IssuedChallenge;

/**
 * The Enrolee behind a TLS client certificate. TS-0003 8.3.6.2.1: the Enrolee is authenticated by
 * TLS, never by HTTP authentication. Its bootstrap certificate (validated against the makers'
 * trust anchors during the handshake) is matched to a registration; a certificate this CA issued
 * (validated against the CA) is matched to the ledger, for re-enrolment.
 *
 * <p>One step on the store workers: the signature check that tells this CA's certificates from
 * bootstrap ones, then the lookup.
 */
public final class EnroleeAuthenticator {
    private final Store store;
    private final Profiles profiles;
    private final WorkerExecutor storeWorkers;
    private final EnrolmentSteps steps;
    private final Clock clock;

    public EnroleeAuthenticator(Store store, Profiles profiles, WorkerExecutor storeWorkers, EnrolmentSteps steps, Clock clock) {
        this.clock = clock;
        this.store = store;
        this.profiles = profiles;
        this.storeWorkers = storeWorkers;
        this.steps = steps;
    }

    public Future<Caller> authenticate(Optional<X509Certificate> clientCertificate) {
        if (clientCertificate.isEmpty()) {
            return Future.failedFuture(OperationException.of(ErrorCode.NOT_AUTHENTICATED,
                    "a TLS client certificate is required: present the bootstrap certificate the operator registered (TS-0003 8.3.6.2.1)"));
        }
        X509Certificate cert = clientCertificate.get();
        return storeWorkers.executeBlocking(() -> {
            steps.ran(EnrolmentSteps.Step.AUTHENTICATE);
            return issuedByThisCa(cert) ? renewing(cert) : bootstrap(cert);
        }, false);
    }

    /**
     * The Enrolee a challengePassword was issued to, for a protocol that has no client
     * authentication of its own: a SCEP PKCSReq is signed with a self-signed certificate of the
     * device's new key (RFC 8894 2.3), so the challenge in its CSR is the only credential (RFC
     * 8894 2.5). Only an unexpired challenge names a caller; the pipeline then claims it as for
     * EST, so it is spent once. A used one still names its Enrolee: a PKCSReq repeated after its
     * CertRep was lost carries the challenge its first attempt spent, and the pipeline answers
     * that repeat from what the first became (the same certificate, or the held request's state);
     * any other request with a used challenge is refused there (challenge.unused), before a claim.
     */
    public Future<Caller> byChallenge(String challengePassword) {
        return storeWorkers.executeBlocking(() -> {
            steps.ran(EnrolmentSteps.Step.AUTHENTICATE);
            IssuedChallenge issued = store.challenge(Challenges.hash(challengePassword))
                    .filter(c -> c.expiresAt().isAfter(clock.instant()))
                    .orElseThrow(() -> OperationException.of(ErrorCode.NOT_AUTHENTICATED,
                            "the challengePassword is not one this MEF issued, or it has expired: ask the operator for a new one"));
            StoredEnrolee enrolee = store.enrolee(issued.enroleeId()).orElseThrow(() -> OperationException.of(ErrorCode.NOT_AUTHENTICATED,
                    "the Enrolee of this challengePassword is no longer registered"));
            return new Caller(enrolee, Optional.empty(), Optional.empty());
        }, false);
    }

    private Caller renewing(X509Certificate cert) {
        String serial = cert.getSerialNumber().toString(16);
        Store.IssuedTo found = store.issuedTo(serial).orElseThrow(() -> OperationException.of(ErrorCode.NOT_PERMITTED,
                "certificate " + serial + " is not in this MEF's ledger"));
        IssuedCertificate issued = found.certificate();
        if (issued.status() != IssuedCertificate.Status.ISSUED) {
            throw OperationException.of(ErrorCode.NOT_PERMITTED, "certificate " + serial + " is "
                    + issued.status().name().toLowerCase(Locale.ROOT) + ": enrol again with the bootstrap credential");
        }
        StoredEnrolee enrolee = found.enrolee().orElseThrow(() -> OperationException.of(ErrorCode.NOT_PERMITTED,
                "the Enrolee of certificate " + serial + " is no longer registered"));
        return new Caller(enrolee, Optional.of(cert), Optional.of(issued.profile()));
    }

    private Caller bootstrap(X509Certificate cert) {
        String fingerprint = TlsMaterial.fingerprint(cert);
        return store.enroleeByFingerprint(fingerprint)
                .map(e -> new Caller(e, Optional.empty(), Optional.empty()))
                .orElseThrow(() -> OperationException.of(ErrorCode.NOT_PERMITTED, "this client certificate (SHA-256 " + fingerprint
                        + ") is not registered with the MEF: ask the operator to register the Enrolee"));
    }

    /** Whether one of this gateway's CA keys signed the certificate (names can collide; signatures cannot). */
    private boolean issuedByThisCa(X509Certificate cert) {
        for (CertificateAuthority ca : profiles.all()) {
            X509Certificate caCert = ca.caCertificate();
            if (!cert.getIssuerX500Principal().equals(caCert.getSubjectX500Principal())) {
                continue;
            }
            try {
                cert.verify(caCert.getPublicKey());
                return true;
            } catch (GeneralSecurityException e) {
                // another key under the same name: try the next
            }
        }
        return false;
    }
}
