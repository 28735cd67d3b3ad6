package org.mefgateway.gateway.core;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.gateway.store.IssuanceReservation;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.HeldRequest;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.CurrentCertificate;
import org.mefgateway.policy.Decision;
import org.mefgateway.policy.EnrolmentContext;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deferred issuance (RFC 7030 4.2.3): requests a profile holds for an operator's approval, what a
 * client repeating one is told, and the operator's approval or rejection.
 */
public final class ApprovalQueue {
    private static final Logger LOG = LoggerFactory.getLogger(ApprovalQueue.class);
    /** What a client polling a request that is being signed right now is told to wait. */
    private static final Duration SIGNING_RETRY = Duration.ofSeconds(1);

    private final Store store;
    private final Profiles profiles;
    private final Refusals refusals;
    private final IssuanceClaims claims;
    private final CertificateIssuer issuer;
    private final WorkerExecutor storeWorkers;
    private final WorkerExecutor cpuWorkers;
    private final EnrolmentSteps steps;
    private final Clock clock;

    ApprovalQueue(Store store, Profiles profiles, Refusals refusals, IssuanceClaims claims, CertificateIssuer issuer,
                  WorkerExecutor storeWorkers, WorkerExecutor cpuWorkers, EnrolmentSteps steps, Clock clock) {
        this.store = store;
        this.profiles = profiles;
        this.refusals = refusals;
        this.claims = claims;
        this.issuer = issuer;
        this.storeWorkers = storeWorkers;
        this.cpuWorkers = cpuWorkers;
        this.steps = steps;
        this.clock = clock;
    }

    /** The held request an arriving one becomes, stored with its claim ({@link IssuanceClaims#begin}). */
    HeldRequest hold(StoredEnrolee enrolee, PolicyEngine policy, Optional<X509Certificate> renewing, Operation operation,
                        byte[] csr, String csrHash, String requestKey, Instant at) {
        return new HeldRequest(IssuanceClaims.randomId(), enrolee.enrolee().id(), PolicyDirectory.labelOf(policy.profile().name()),
                operation == Operation.REENROL, renewing.map(c -> c.getSerialNumber().toString(16)), csrHash, requestKey, csr,
                HeldRequest.Status.PENDING, Optional.empty(), Optional.empty(), at, Optional.empty());
    }

    /** The client repeated a held request: its state (RFC 7030 4.2.3). */
    Future<Outcome> answerHeld(StoredEnrolee enrolee, PolicyEngine policy, HeldRequest held) {
        return switch (held.status()) {
            case PENDING -> Future.succeededFuture(new Outcome.Held(held.id(), policy.profile().approval().retryAfter()));
            case REJECTED -> Future.failedFuture(refusals.refuse(enrolee, policy, "approval.rejected",
                    "an operator rejected this request: " + held.reason().orElse("no reason given")));
            case APPROVED -> storeWorkers.executeBlocking(() -> store.certificate(held.serialHex().orElseThrow())
                    .<Outcome>map(cert -> new Outcome.Issued(cert.der(), profiles.ca(policy).chain(), Optional.empty()))
                    .orElseGet(() -> new Outcome.Held(held.id(), SIGNING_RETRY)), false);
        };
    }

    /**
     * An operator approves a held request: the current profile of its label looks at it again
     * (a profile tightened meanwhile still applies) with everything but the challenge rules,
     * whose credentials were checked and spent when the request arrived ({@link PolicyEngine#review}).
     * A held re-enrolment is reviewed as one, against the certificate it renews (still in the
     * ledger, not revoked). The request is marked approved before signing, so two approvals sign
     * it once; if signing or recording fails it is pending again.
     */
    public Future<IssuedCertificate> approve(String requestId) {
        BigInteger serial = Serials.next();
        return storeWorkers.executeBlocking(() -> {
            HeldRequest held = store.heldRequest(requestId).orElseThrow(() -> OperationException.of(ErrorCode.NOT_FOUND,
                    "no held request " + requestId));
            StoredEnrolee enrolee = store.enrolee(held.enroleeId()).orElseThrow(() -> OperationException.of(ErrorCode.CONFLICT,
                    "the Enrolee " + held.enroleeId() + " is no longer registered"));
            Optional<IssuedCertificate> renewed = held.renewsSerial().flatMap(store::certificate);
            if (held.reenrol() && renewed.filter(c -> c.status() == IssuedCertificate.Status.ISSUED).isEmpty()) {
                throw OperationException.of(ErrorCode.CONFLICT, "request " + requestId + " renews certificate "
                        + held.renewsSerial().orElse("(not recorded)") + ", which is not in the ledger as issued (revoked since?): reject it");
            }
            if (!store.decideRequest(requestId, HeldRequest.Status.APPROVED, null, serial.toString(16), clock.instant())) {
                throw OperationException.of(ErrorCode.CONFLICT, "request " + requestId + " is not pending (it is " + held.status() + ")");
            }
            return new Approving(held, enrolee, renewed,
                    store.issuedSince(enrolee.enrolee().id(), clock.instant().minus(IssuanceClaims.RATE_WINDOW)));
        }, false).compose(approving -> {
            HeldRequest held = approving.held();
            StoredEnrolee enrolee = approving.enrolee();
            Optional<PolicyEngine> labelPolicy = profiles.forLabel(held.label());
            Future<Reviewed> reviewed = labelPolicy.isEmpty()
                    ? Future.failedFuture(OperationException.of(ErrorCode.CONFLICT, "no profile serves label '" + held.label() + "' any more"))
                    : cpuWorkers.executeBlocking(() -> review(approving, labelPolicy.get(), serial), false);
            return reviewed.compose(r -> signApproved(enrolee, labelPolicy.get(), held, r.issue(), r.tbs()))
                    .onSuccess(cert -> LOG.info("operator approved request={} enrolee={} serial={}", requestId,
                            enrolee.enrolee().id(), cert.serialHex()))
                    .onFailure(failure -> LOG.info("approval of request={} enrolee={} did not issue; it is pending again: {}", requestId,
                            enrolee.enrolee().id(), LogText.safe(failure.getMessage() == null ? failure.toString() : failure.getMessage())))
                    .recover(failure -> storeWorkers.executeBlocking(() -> {
                        store.reopenRequest(requestId, serial.toString(16));
                        return null;
                    }, false).transform(x -> Future.failedFuture(failure)));
        });
    }

    private record Approving(HeldRequest held, StoredEnrolee enrolee, Optional<IssuedCertificate> renewed, int issuedLastDay) {
    }

    /** The decision on an approved request and the TBSCertificate it allows, built in the same cpu step. */
    private record Reviewed(Decision.Issue issue, CertificateAuthority.ToBeSigned tbs) {
    }

    /** What the approval knows for itself: the Enrolee, the certificate renewed, its issuances; no challenge, no TLS session. */
    private Reviewed review(Approving approving, PolicyEngine policy, BigInteger serial) throws Exception {
        steps.ran(EnrolmentSteps.Step.DECIDE);
        HeldRequest held = approving.held();
        StoredEnrolee enrolee = approving.enrolee();
        CsrFacts csr = CsrParser.parse(held.csr());
        Optional<CurrentCertificate> current = approving.renewed().map(c -> CurrentCertificate.of(c.der()));
        Decision decision = policy.review(csr, new EnrolmentContext(held.label(), enrolee.bootstrapFingerprint(),
                enrolee.enrolee(), Optional.empty(), current, Optional.empty(), approving.issuedLastDay(),
                profiles.ca(policy).caCertificate().getNotAfter().toInstant(), clock.instant()));
        if (decision instanceof Decision.Deny deny) {
            throw Refusals.denied(ErrorCode.CONFLICT, deny.profile(), deny.ruleId(), "the profile now refuses this request: " + deny.reason());
        }
        Decision.Issue issue = (Decision.Issue) decision;
        return new Reviewed(issue, issuer.prepare(profiles.ca(policy), issue.template(), serial));
    }

    /**
     * Signs an approved request once it has taken a place under the Enrolee's issuance limit
     * ({@link IssuanceClaims#beginApproved}), so approvals made at once cannot exceed the limit
     * either: beyond it the approval is refused (a conflict, the rule) and the request is pending
     * again. A held request takes no place while it waits: it is not an issuance, and one the
     * operator rejects must not use up the Enrolee's limit.
     */
    private Future<IssuedCertificate> signApproved(StoredEnrolee enrolee, PolicyEngine policy, HeldRequest held,
                                                   Decision.Issue issue, CertificateAuthority.ToBeSigned tbs) {
        String id = enrolee.enrolee().id();
        Instant claimedAt = clock.instant();
        Optional<IssuanceReservation> reservation = IssuanceClaims.reservation(policy, claimedAt);
        Optional<String> reservationId = reservation.map(IssuanceReservation::id);
        Future<Void> reserved = reservation.isEmpty() ? Future.succeededFuture()
                : claims.beginApproved(enrolee, policy, claimedAt, reservation.get());
        return reserved.compose(v -> issuer.issue(profiles.ca(policy), id, issue, held.reenrol() ? Operation.REENROL : Operation.ENROL,
                        Optional.ofNullable(held.requestKey()), reservation, tbs, 1)
                .recover(failure -> reservation.isEmpty() ? Future.<IssuedCertificate>failedFuture(failure)
                        : claims.abandon(new IssuanceClaims.Claim(id, null, false, claimedAt, reservationId), failure)));
    }

    /** An operator rejects a held request; the client's next repeat is refused with the reason. */
    public Future<Void> reject(String requestId, String reason) {
        return storeWorkers.executeBlocking(() -> {
            if (!store.decideRequest(requestId, HeldRequest.Status.REJECTED, reason, null, clock.instant())) {
                throw store.heldRequest(requestId).isPresent()
                        ? OperationException.of(ErrorCode.CONFLICT, "request " + requestId + " is not pending")
                        : OperationException.of(ErrorCode.NOT_FOUND, "no held request " + requestId);
            }
            LOG.info("operator rejected request={} reason={}", requestId, LogText.safe(reason));
            return null;
        }, false);
    }
}
