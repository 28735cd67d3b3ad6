package org.mefgateway.gateway.core;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
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
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.MalformedCsrException;
import org.mefgateway.policy.PolicyEngine;
import org.mefgateway.policy.Profile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TS-0003 steps 7-12 for one CSR, in a fixed order: parse, look up what the store knows, decide,
 * claim (the challenge, the command, a place under the issuance limit), sign, record durably,
 * and only then answer. A profile that requires approval holds the request after the claim
 * instead ({@link ApprovalQueue}). A repeat of a request already issued gets the same certificate;
 * one of a request still in progress joins it ({@link Repeats}).
 *
 * <p>Where each step runs: parsing on the {@code cpu} workers; the lookup on the {@code store}
 * workers (it needs the parsed challenge and key); the decision and the TBSCertificate in one
 * {@code cpu} step; the claim on the {@code store} workers; the signature on the HSM signer's pool
 * and the record in the ledger's group commit ({@link CertificateIssuer}). The event loop only
 * passes results between them.
 */
public final class IssuancePipeline {
    private static final Logger LOG = LoggerFactory.getLogger(IssuancePipeline.class);
    /** The rule of a CSR that does not parse. */
    static final String CSR_MALFORMED = "csr.malformed";

    private final Store store;
    private final Profiles profiles;
    private final Refusals refusals;
    private final CommandResults commands;
    private final IssuanceClaims claims;
    private final CertificateIssuer issuer;
    private final ApprovalQueue approvals;
    private final Repeats repeats;
    private final WorkerExecutor storeWorkers;
    private final WorkerExecutor cpuWorkers;
    private final EnrolmentSteps steps;
    private final Clock clock;

    IssuancePipeline(Store store, Profiles profiles, Refusals refusals, CommandResults commands, IssuanceClaims claims,
                     CertificateIssuer issuer, ApprovalQueue approvals, Repeats repeats, WorkerExecutor storeWorkers,
                     WorkerExecutor cpuWorkers, EnrolmentSteps steps, Clock clock) {
        this.store = store;
        this.profiles = profiles;
        this.refusals = refusals;
        this.commands = commands;
        this.claims = claims;
        this.issuer = issuer;
        this.approvals = approvals;
        this.repeats = repeats;
        this.storeWorkers = storeWorkers;
        this.cpuWorkers = cpuWorkers;
        this.steps = steps;
        this.clock = clock;
    }

    /**
     * The outcome of one enrolment. The future fails only on an internal error; refusals, holds
     * and a CA or store that cannot serve now are outcomes.
     */
    public Future<Outcome> enrol(EnrolmentRequest request) {
        Caller caller = request.caller();
        StoredEnrolee enrolee = caller.enrolee();
        Operation operation = request.operation();
        Future<Outcome> outcome = FailureOutcomes.settle(start(request));
        if (operation != Operation.REENROL) {
            outcome.onSuccess(o -> commands.record(enrolee, o)).onFailure(failure -> commands.recordServerError(enrolee));
        }
        return outcome;
    }

    private Future<Outcome> start(EnrolmentRequest request) {
        Caller caller = request.caller();
        StoredEnrolee enrolee = caller.enrolee();
        Operation operation = request.operation();
        PolicyEngine policy;
        try {
            policy = profiles.policyFor(caller, request.label());
        } catch (OperationException e) {
            return Future.failedFuture(e);
        }
        if (operation == Operation.REENROL && caller.current().isEmpty()) {
            return Future.failedFuture(refusals.refuse(enrolee, policy, "reenrol.current-certificate",
                    "simplereenroll authenticates with the certificate being renewed (RFC 7030 4.2.2); this is the "
                            + "bootstrap credential: use simpleenroll"));
        }
        if (operation != Operation.REENROL && caller.current().isPresent()) {
            return Future.failedFuture(refusals.refuse(enrolee, policy, "enrol.bootstrap-certificate",
                    "simpleenroll authenticates with the bootstrap credential; to renew this certificate use simplereenroll"));
        }
        if (operation == Operation.SERVERKEYGEN && policy.profile().approval().required()) {
            return Future.failedFuture(refusals.refuse(enrolee, policy, "serverkeygen.approval", "profile "
                    + policy.profile().name() + " holds requests for approval, and a server-generated key is never stored: "
                    + "send your own CSR to simpleenroll"));
        }
        Optional<String> channelBinding = request.channelBinding();
        return cpuWorkers.executeBlocking(() -> parse(enrolee, policy, request.csr()), false).compose(parsed -> {
            if (operation != Operation.SERVERKEYGEN) {
                return repeats.once(enrolee, policy, parsed.key(), parsed.csr().signatureValid(), () -> storeWorkers.executeBlocking(
                                () -> lookup(enrolee, policy, parsed, operation), false)
                        .compose(found -> answer(caller, policy, parsed, found, operation, channelBinding)));
            }
            return cpuWorkers.executeBlocking(() -> {
                KeyPair keys = ServerKeys.generate(policy.profile().keys());
                return new Generated(keys, parsed.withKey(keys.getPublic()));
            }, false).compose(generated -> storeWorkers.executeBlocking(() -> lookup(enrolee, policy, generated.request(), operation), false)
                    .compose(found -> decideAndIssue(caller, policy, generated.request(), found, operation, channelBinding))
                    .map(outcome -> outcome instanceof Outcome.Issued issued
                            ? new Outcome.Issued(issued.certificate(), issued.chain(), Optional.of(generated.keys().getPrivate()))
                            : outcome));
        });
    }

    /** A key pair the MEF generated (serverkeygen) and the request for it. */
    private record Generated(KeyPair keys, Request request) {
    }

    /** A held request's state, the certificate of a repeat, or the decision on a new request. */
    private Future<Outcome> answer(Caller caller, PolicyEngine policy, Request request, Lookup found, Operation operation,
                                   Optional<String> channelBinding) {
        StoredEnrolee enrolee = caller.enrolee();
        if (found.held().isPresent()) {
            return approvals.answerHeld(enrolee, policy, found.held().get());
        }
        // Only with a valid proof of possession: a copy of someone's CSR with a broken signature
        // goes to policy, which refuses it (csr.signature).
        if (found.repeatOf().isPresent() && request.csr().signatureValid()) {
            return repeats.redeliver(enrolee, policy, found.repeatOf().get(), operation);
        }
        return decideAndIssue(caller, policy, request, found, operation, channelBinding);
    }

    private Future<Outcome> decideAndIssue(Caller caller, PolicyEngine policy, Request request, Lookup found,
                                           Operation operation, Optional<String> channelBinding) {
        StoredEnrolee enrolee = caller.enrolee();
        String label = PolicyDirectory.labelOf(policy.profile().name());
        // Checked after the held-request lookup: a repeated held request has already claimed the command.
        if (found.noCommand().isPresent()) {
            return Future.failedFuture(commands.noPendingCommand(enrolee, policy, found.noCommand().get()));
        }
        CertificateAuthority ca = profiles.ca(policy);
        Instant caNotAfter = ca.caCertificate().getNotAfter().toInstant();
        // One cpu step: the decision and, unless the request is held, the TBSCertificate it allows
        // (built before the claim: a claim refused wastes one encoding, never a signature).
        return cpuWorkers.executeBlocking(() -> {
            Decision.Issue issue = decide(enrolee, policy, request.csr(), new EnrolmentContext(label,
                    enrolee.bootstrapFingerprint(), enrolee.enrolee(), found.challenge(),
                    caller.current().map(IssuancePipeline::currentCertificate), channelBinding, found.issuedLastDay(),
                    caNotAfter, clock.instant()));
            Optional<CertificateAuthority.ToBeSigned> tbs = policy.profile().approval().required() ? Optional.empty()
                    : Optional.of(issuer.prepare(ca, issue.template(), Serials.next()));
            return new Decided(issue, tbs);
        }, false).compose(decided -> claimAndIssue(caller, policy, request, operation, decided));
    }

    /** A decision to issue and, unless the request is to be held, its TBSCertificate. */
    private record Decided(Decision.Issue issue, Optional<CertificateAuthority.ToBeSigned> tbs) {
    }

    private Future<Outcome> claimAndIssue(Caller caller, PolicyEngine policy, Request request, Operation operation,
                                          Decided decided) {
        StoredEnrolee enrolee = caller.enrolee();
        // Nothing to claim when the profile waives the challenge (and the CSR has none), when the
        // challengePassword carries the TLS channel binding, which is unique per session, or when the
        // profile lets a re-enrolment go without one.
        boolean reenrolWithoutChallenge = operation == Operation.REENROL
                && policy.profile().reenrolment().challenge() == Profile.ReenrolmentChallenge.NONE;
        String challengeHash = policy.profile().challenge().channelBinding() || reenrolWithoutChallenge ? null
                : request.csr().challengePassword().map(Challenges::hash).orElse(null);
        boolean firstEnrolment = operation != Operation.REENROL;
        Instant claimedAt = clock.instant();
        Optional<HeldRequest> hold = policy.profile().approval().required()
                ? Optional.of(approvals.hold(enrolee, policy, caller.current(), operation, request.der(), request.hash(), request.key(),
                        claimedAt))
                : Optional.empty();
        // A held request is not an issuance: its approval takes the place (see ApprovalQueue.approve).
        Optional<IssuanceReservation> reservation = hold.isPresent() ? Optional.empty() : IssuanceClaims.reservation(policy, claimedAt);
        Optional<String> reservationId = reservation.map(IssuanceReservation::id);
        return claims.begin(enrolee, policy, challengeHash, firstEnrolment, claimedAt, hold, reservation).compose(claimed -> {
            if (hold.isPresent()) {
                LOG.info("held for approval enrolee={} profile={} request={}", enrolee.enrolee().id(), policy.profile().name(),
                        hold.get().id());
                return Future.succeededFuture(new Outcome.Held(hold.get().id(), policy.profile().approval().retryAfter()));
            }
            // A server-generated key is never stored, so its certificate cannot answer a repeat.
            Optional<String> requestKey = operation == Operation.SERVERKEYGEN ? Optional.empty() : Optional.of(request.key());
            return issuer.issue(profiles.ca(policy), enrolee.enrolee().id(), decided.issue(), operation, requestKey, reservation,
                            decided.tbs().orElseThrow(), CertificateIssuer.SERIAL_ATTEMPTS)
                    .<Outcome>map(cert -> new Outcome.Issued(cert.der(), profiles.ca(policy).chain(), Optional.empty()))
                    .recover(failure -> claims.abandon(new IssuanceClaims.Claim(enrolee.enrolee().id(), challengeHash, firstEnrolment,
                            claimedAt, reservationId), failure));
        });
    }

    /** The CSR as received (its hash as first seen), as parsed, and what it asks for ({@link RequestKey}). */
    private record Request(byte[] der, String hash, CsrFacts csr, String key) {
        /** The same request for a key the MEF generated (serverkeygen). */
        Request withKey(PublicKey key) throws MalformedCsrException {
            CsrFacts forKey = csr.withSubjectPublicKey(key.getEncoded());
            return new Request(der, hash, forKey, RequestKey.of(forKey));
        }
    }

    /**
     * The body unwrapped and parsed (with the proof of possession checked); a body or CSR that
     * cannot be read is a refusal like any other, audited with the Enrolee it came from.
     */
    private Request parse(StoredEnrolee enrolee, PolicyEngine policy, EnrolmentRequest.CsrBody body) {
        steps.ran(EnrolmentSteps.Step.PARSE);
        byte[] der;
        try {
            der = body.der();
        } catch (OperationException e) {
            throw refusals.refuse(enrolee, policy, e.code(), e.ruleId().orElseThrow(), e.reason());
        }
        try {
            CsrFacts csr = CsrParser.parse(der);
            return new Request(der, sha256(der), csr, RequestKey.of(csr));
        } catch (MalformedCsrException e) {
            throw refusals.refuse(enrolee, policy, CSR_MALFORMED, e.getMessage());
        }
    }

    /**
     * What the store knows that policy needs: the challenge presented, the Enrolee's recent
     * issuances, whether this request is already held for approval or was already issued (a
     * repeat), and, for a first enrolment without a pending command, what spent the command.
     */
    private record Lookup(Optional<IssuedChallenge> challenge, int issuedLastDay, Optional<HeldRequest> held,
                          Optional<IssuedCertificate> repeatOf, Optional<String> noCommand) {
    }

    private Lookup lookup(StoredEnrolee enrolee, PolicyEngine policy, Request request, Operation operation) {
        String id = enrolee.enrolee().id();
        Instant now = clock.instant();
        // A server-generated key is new on every request: nothing can be a repeat of it.
        if (operation != Operation.SERVERKEYGEN) {
            Optional<HeldRequest> held = store.heldRequest(id, request.key(), request.hash(), enrolee.instructedAt());
            if (held.isPresent()) {
                return new Lookup(Optional.empty(), 0, held, Optional.empty(), Optional.empty());
            }
            Optional<IssuedCertificate> repeatOf = policy.profile().redeliveryWindow().isZero() ? Optional.empty()
                    : store.issuedFor(id, request.key(), redeliverySince(enrolee, policy.profile(), now))
                            .filter(cert -> cert.profile().equals(policy.profile().name()));
            if (repeatOf.isPresent()) {
                return new Lookup(Optional.empty(), 0, Optional.empty(), repeatOf, Optional.empty());
            }
        }
        Optional<String> noCommand = operation != Operation.REENROL && enrolee.command() != StoredEnrolee.Command.CERT_PROV
                ? Optional.of(commands.whyNoCommand(enrolee)) : Optional.empty();
        Optional<IssuedChallenge> challenge = request.csr().challengePassword()
                .flatMap(value -> store.challenge(Challenges.hash(value)));
        // The count is a query over the ledger (7% of the gateway's CPU at peak in ops/bench e2e):
        // only a profile with a per-Enrolee limit needs it. It refuses early what is over the limit
        // already; the claim decides atomically what arrives at once (Store.beginIssuance).
        int issuedLastDay = policy.profile().maxIssuancesPerDay() > 0
                ? store.issuedSince(id, now.minus(IssuanceClaims.RATE_WINDOW)) : 0;
        return new Lookup(challenge, issuedLastDay, Optional.empty(), Optional.empty(), noCommand);
    }

    /** Since when an issued certificate counts as the answer to a repeat: the window, and never before the last instruction. */
    private static Instant redeliverySince(StoredEnrolee enrolee, Profile profile, Instant now) {
        Instant windowStart = now.minus(profile.redeliveryWindow());
        return windowStart.isAfter(enrolee.instructedAt()) ? windowStart : enrolee.instructedAt();
    }

    private Decision.Issue decide(StoredEnrolee enrolee, PolicyEngine policy, CsrFacts csr, EnrolmentContext ctx) {
        steps.ran(EnrolmentSteps.Step.DECIDE);
        Decision decision = policy.decide(csr, ctx);
        if (decision instanceof Decision.Deny deny) {
            throw refusals.refuse(enrolee, policy, deny.ruleId(), deny.reason());
        }
        Decision.Issue issue = (Decision.Issue) decision;
        refusals.issued(issue.profile());
        return issue;
    }

    /** RFC 7030 4.2.2: the certificate being renewed, as policy compares it with the CSR. */
    private static CurrentCertificate currentCertificate(X509Certificate cert) {
        try {
            return CurrentCertificate.of(cert.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("a certificate this CA issued cannot be encoded", e);
        }
    }

    private static String sha256(byte[] der) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }
}
