package org.mefgateway.gateway.mef;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.gateway.est.EstError;
import org.mefgateway.gateway.est.EstWire;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.gateway.store.DuplicateException;
import org.mefgateway.gateway.store.IssuanceReservation;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.HeldRequest;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.CurrentCertificate;
import org.mefgateway.policy.Decision;
import org.mefgateway.policy.EnrolmentContext;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.MalformedCsrException;
import org.mefgateway.policy.PolicyEngine;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.SubjectAltName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MEF acting as Registration Authority: it knows the registered Enrolees, hands out
 * challenges, asks the policy engine about every CSR and forwards what it allows to the CA.
 * The order of an issuance is fixed: decide, consume the challenge, sign, record durably,
 * and only then return the certificate. A profile that requires approval holds the request
 * after the decision instead, and the certificate is signed when an operator approves it.
 *
 * <p>Blocking work runs on dedicated worker pools (CSR parsing and verification on {@code cpu},
 * JDBC on {@code store}); signing runs on the HSM signer's own pool. Nothing here blocks an
 * event loop.
 */
public final class RegistrationAuthority {
    private static final Logger LOG = LoggerFactory.getLogger(RegistrationAuthority.class);
    private static final int SERIAL_ATTEMPTS = 3;
    /** The window of per-Enrolee rate limits (profile rateLimit.maxIssuancesPerDay). */
    private static final Duration RATE_WINDOW = Duration.ofDays(1);
    /** What a client polling a request that is being signed right now is told to wait. */
    private static final Duration SIGNING_RETRY = Duration.ofSeconds(1);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The policy rule that refuses an expired challengePassword (policy-engine PolicyEngine). */
    private static final String CHALLENGE_UNEXPIRED = "challenge.unexpired";
    /** A request on a label whose profile the Enrolee's registration does not name. */
    static final String ENROLEE_LABEL = "enrolee.label";
    /** A repeat of a request whose certificate was revoked since: it is not handed out again. */
    static final String REDELIVERY_REVOKED = "redelivery.revoked";
    /** One more request of an Enrolee whose requests already wait for approval up to the profile's bound. */
    static final String APPROVAL_PENDING_LIMIT = "approval.pending-limit";
    /**
     * The per-Enrolee limit (profile rateLimit.maxIssuancesPerDay): policy-engine's rule of that
     * name refuses on the ledger's count; the claim refuses under the same rule what arrived at once.
     */
    static final String RATE_PER_ENROLEE = "rate.per-enrolee";

    /** The longest wait between two attempts to give back a claim while the store keeps failing. */
    private static final Duration RELEASE_RETRY_MAX = Duration.ofSeconds(60);

    private final Vertx vertx;
    private final Store store;
    private final PolicyDirectory policies;
    /** One CA per configured CA key, by key name; a profile's caKey picks one. */
    private final Map<String, CertificateAuthority> cas;
    private final WorkerExecutor storeWorkers;
    private final WorkerExecutor cpuWorkers;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Counter challengesIssued;
    private final Counter challengesConsumed;
    private final Counter challengesExpired;
    /**
     * Requests being decided and signed right now, by Enrolee, profile and what they ask for: a
     * repeat that arrives meanwhile (a client whose deadline answered 503, or whose connection
     * dropped) joins the first instead of being refused for its spent challenge.
     */
    private final Map<String, Future<Issued>> inFlight = new java.util.concurrent.ConcurrentHashMap<>();

    public RegistrationAuthority(Vertx vertx, Store store, PolicyDirectory policies, Map<String, CertificateAuthority> cas,
                                 WorkerExecutor storeWorkers, WorkerExecutor cpuWorkers, MeterRegistry meters, Clock clock) {
        this.vertx = vertx;
        this.store = store;
        this.policies = policies;
        this.cas = Map.copyOf(cas);
        this.storeWorkers = storeWorkers;
        this.cpuWorkers = cpuWorkers;
        this.meters = meters;
        this.clock = clock;
        this.challengesIssued = Counter.builder("mef.challenges.issued")
                .description("challengePasswords handed out by csrattrs (stored, single use, expiring)")
                .register(meters);
        this.challengesConsumed = Counter.builder("mef.challenges.consumed")
                .description("challengePasswords claimed by an accepted CSR; a claim given back after a failed signing or "
                        + "ledger write is counted again when the challenge is presented again")
                .register(meters);
        this.challengesExpired = Counter.builder("mef.challenges.expired")
                .description("CSRs refused because the challengePassword they carried had expired (rule challenge.unexpired); "
                        + "challenges that expire without ever being presented are not counted")
                .register(meters);
    }

    /**
     * simpleenroll (RFC 7030 4.2.1, first enrolment), simplereenroll (4.2.2, renewal), or
     * serverkeygen (4.4: a first enrolment for a key pair the MEF generates).
     */
    public enum Operation {
        ENROL("simpleenroll"), REENROL("simplereenroll"), SERVERKEYGEN("serverkeygen");

        private final String estName;

        Operation(String estName) {
            this.estName = estName;
        }

        /** The RFC 7030 operation name, as in the path and in metric labels. */
        public String estName() {
            return estName;
        }
    }

    /** What an enrolment returns: the certificate, and for serverkeygen the private key it is for (never stored). */
    public record Issued(byte[] certificate, Optional<PrivateKey> privateKey) {
    }

    /**
     * Who is asking: the registered Enrolee, and on re-enrolment the certificate it authenticated
     * with (issued by this CA, in the ledger, not revoked) and the profile that issued it.
     */
    public record Caller(StoredEnrolee enrolee, Optional<X509Certificate> current, Optional<String> currentProfile) {
    }

    /**
     * The profile that decides this Enrolee's request on {@code label}. Its registration names the
     * profiles it may use (TS-0003 8.3.9.7: its CERT_PROV command names one); a renewal is decided
     * by the profile that issued the certificate being renewed, whichever label carries it, unless
     * the operator has since moved the Enrolee off that profile.
     */
    PolicyEngine policyFor(Caller caller, String label) {
        PolicyEngine requested = policy(label);
        StoredEnrolee enrolee = caller.enrolee();
        Optional<PolicyEngine> issuing = caller.currentProfile().filter(enrolee::mayUse).flatMap(policies::forProfile);
        if (issuing.isPresent()) {
            return issuing.get();
        }
        String profile = requested.profile().name();
        if (!enrolee.mayUse(profile)) {
            throw refuse(enrolee, requested, 403, ENROLEE_LABEL, "Enrolee " + enrolee.enrolee().id() + " is registered for profile(s) "
                    + enrolee.profiles() + ", not " + profile + ": use " + enrolee.profiles().stream()
                            .map(p -> "/.well-known/est" + (PolicyDirectory.labelOf(p).isEmpty() ? "" : "/" + p) + "/")
                            .collect(Collectors.joining(" or ")) + ", or ask the operator to instruct it for " + profile);
        }
        return requested;
    }

    /**
     * The policy of an EST label, taken once per request so that a reload in the middle of a
     * request cannot mix two profiles. RFC 7030 3.2.2: an unknown label is an unknown resource.
     */
    public PolicyEngine policy(String label) {
        return policies.forLabel(label).orElseThrow(() -> EstError.of(404, label.isEmpty()
                ? "this MEF serves EST only under a label (no default.yaml profile): use /.well-known/est/<label>/..."
                : "no profile serves the EST label '" + LogText.safe(label) + "'"));
    }

    /** The CA that signs for this profile (PolicyDirectory checked at load that its key exists). */
    public CertificateAuthority ca(PolicyEngine policy) {
        return cas.get(policy.profile().caKey());
    }

    /**
     * The Enrolee behind a TLS client certificate. TS-0003 8.3.6.2.1: the Enrolee is authenticated
     * by TLS, never by HTTP authentication. Its bootstrap certificate (validated against the
     * makers' trust anchors during the handshake) is matched to a registration; a certificate
     * this CA issued (validated against the CA) is matched to the ledger, for re-enrolment.
     */
    public Future<Caller> authenticate(Optional<X509Certificate> clientCertificate) {
        if (clientCertificate.isEmpty()) {
            return Future.failedFuture(EstError.of(401,
                    "a TLS client certificate is required: present the bootstrap certificate the operator registered (TS-0003 8.3.6.2.1)"));
        }
        X509Certificate cert = clientCertificate.get();
        if (issuedByThisCa(cert)) {
            String serial = cert.getSerialNumber().toString(16);
            return storeWorkers.executeBlocking(() -> {
                IssuedCertificate issued = store.certificate(serial).orElseThrow(() -> EstError.of(403,
                        "certificate " + serial + " is not in this MEF's ledger"));
                if (issued.status() != IssuedCertificate.Status.ISSUED) {
                    throw EstError.of(403, "certificate " + serial + " is " + issued.status().name().toLowerCase(java.util.Locale.ROOT)
                            + ": enrol again with the bootstrap credential");
                }
                StoredEnrolee enrolee = store.enrolee(issued.enroleeId()).orElseThrow(() -> EstError.of(403,
                        "the Enrolee of certificate " + serial + " is no longer registered"));
                return new Caller(enrolee, Optional.of(cert), Optional.of(issued.profile()));
            }, false);
        }
        String fingerprint = TlsMaterial.fingerprint(cert);
        return storeWorkers.executeBlocking(() -> store.enroleeByFingerprint(fingerprint), false)
                .compose(found -> found.map(e -> Future.succeededFuture(new Caller(e, Optional.empty(), Optional.empty())))
                        .orElseGet(() -> Future.failedFuture(EstError.of(403, "this client certificate (SHA-256 " + fingerprint
                                + ") is not registered with the MEF: ask the operator to register the Enrolee"))));
    }

    /**
     * TS-0003 steps 4-5 (and 8.3.6.2.3 on re-enrolment): a fresh challengePassword bound to this
     * Enrolee, single use, expiring after the profile's challenge lifetime, with the key, identity
     * and EKUs its CSR must request. No challenge when the profile does not require one.
     */
    public Future<byte[]> csrAttributes(Caller caller, String label) {
        StoredEnrolee enrolee = caller.enrolee();
        PolicyEngine policy;
        try {
            policy = policyFor(caller, label);
        } catch (EstError e) {
            return Future.failedFuture(e);
        }
        var profile = policy.profile();
        Optional<SubjectAltName> identity = profile.subjectAltName().bindToRegisteredIdentity()
                ? Optional.of(enrolee.enrolee().identity()) : Optional.empty();
        List<String> ekus = profile.eku().forSuids(enrolee.enrolee().suids());
        boolean reenrolment = caller.current().isPresent();
        boolean withChallenge = profile.challenge().required()
                && !(reenrolment && profile.reenrolment().challenge() == Profile.ReenrolmentChallenge.NONE);
        if (!reenrolment && enrolee.command() != StoredEnrolee.Command.CERT_PROV) {
            return storeWorkers.executeBlocking(() -> {
                throw noPendingCommand(enrolee, policy, whyNoCommand(enrolee));
            }, false);
        }
        if (!withChallenge) {
            return Future.succeededFuture(EstWire.csrAttributes(Optional.empty(), profile.keys(), identity, ekus));
        }
        String challenge = Challenges.next();
        Instant now = clock.instant();
        Instant expires = now.plus(profile.challenge().lifetime());
        return storeWorkers.executeBlocking(() -> {
            store.saveChallenge(Challenges.hash(challenge), enrolee.enrolee().id(), now, expires);
            challengesIssued.increment();
            return EstWire.csrAttributes(Optional.of(challenge), profile.keys(), identity, ekus);
        }, false);
    }

    /** Since when an issued certificate counts as the answer to a repeat: the window, and never before the last instruction. */
    private static Instant redeliverySince(StoredEnrolee enrolee, Profile profile, Instant now) {
        Instant windowStart = now.minus(profile.redeliveryWindow());
        return windowStart.isAfter(enrolee.instructedAt()) ? windowStart : enrolee.instructedAt();
    }

    /**
     * TS-0003 steps 7-12 for one CSR, given as the request body (base64 of the DER, RFC 8951);
     * completes with the DER of the recorded certificate, or fails with the refusal (or the 202
     * of a request held for approval). {@code channelBinding} is the base64 tls-exporter value of
     * the TLS session the request came on, when the runtime can compute it.
     */
    public Future<Issued> enrol(Caller caller, String label, byte[] body, Operation operation, Optional<String> channelBinding) {
        StoredEnrolee enrolee = caller.enrolee();
        PolicyEngine policy;
        try {
            policy = policyFor(caller, label);
        } catch (EstError e) {
            return Future.failedFuture(e);
        }
        if (operation == Operation.REENROL && caller.current().isEmpty()) {
            return Future.failedFuture(refuse(enrolee, policy, 403, "reenrol.current-certificate",
                    "simplereenroll authenticates with the certificate being renewed (RFC 7030 4.2.2); this is the "
                            + "bootstrap credential: use simpleenroll"));
        }
        if (operation != Operation.REENROL && caller.current().isPresent()) {
            return Future.failedFuture(refuse(enrolee, policy, 403, "enrol.bootstrap-certificate",
                    "simpleenroll authenticates with the bootstrap credential; to renew this certificate use simplereenroll"));
        }
        if (operation == Operation.SERVERKEYGEN && policy.profile().approval().required()) {
            return Future.failedFuture(refuse(enrolee, policy, 403, "serverkeygen.approval", "profile "
                    + policy.profile().name() + " holds requests for approval, and a server-generated key is never stored: "
                    + "send your own CSR to simpleenroll"));
        }
        Future<Issued> issued = cpuWorkers.executeBlocking(() -> parse(enrolee, policy, decode(enrolee, policy, body)), false)
                .compose(request -> {
                    if (operation != Operation.SERVERKEYGEN) {
                        return once(enrolee, policy, request, () -> storeWorkers.executeBlocking(
                                        () -> lookup(enrolee, policy, request, operation), false)
                                .compose(found -> answer(caller, policy, request, found, operation, channelBinding))
                                .map(der -> new Issued(der, Optional.empty())));
                    }
                    return cpuWorkers.executeBlocking(() -> ServerKeys.generate(policy.profile().keys()), false)
                            .compose(keys -> {
                                Request forKey;
                                try {
                                    forKey = request.withKey(keys.getPublic());
                                } catch (MalformedCsrException e) {
                                    return Future.failedFuture(new IllegalStateException("a generated key is unreadable", e));
                                }
                                return storeWorkers.executeBlocking(() -> lookup(enrolee, policy, forKey, operation), false)
                                        .compose(found -> decideAndIssue(caller, policy, forKey, found, operation, channelBinding))
                                        .map(der -> new Issued(der, Optional.of(keys.getPrivate())));
                            });
                });
        if (operation != Operation.REENROL) {
            issued.onComplete(ar -> recordCommandResult(enrolee, ar.succeeded() ? null : ar.cause()));
        }
        return issued;
    }

    /**
     * One answer per request: a repeat of a request that is still being decided and signed (same
     * Enrolee, profile, key and names, with a signature that verifies) gets the first one's answer
     * rather than a refusal for the challenge the first one spent.
     */
    private Future<Issued> once(StoredEnrolee enrolee, PolicyEngine policy, Request request, java.util.function.Supplier<Future<Issued>> work) {
        if (!request.csr().signatureValid()) {
            return work.get(); // no proof of possession: policy refuses it, it joins nothing
        }
        String key = enrolee.enrolee().id() + "/" + policy.profile().name() + "/" + request.key();
        io.vertx.core.Promise<Issued> mine = io.vertx.core.Promise.promise();
        Future<Issued> running = inFlight.putIfAbsent(key, mine.future());
        if (running != null) {
            LOG.info("repeat of a request in progress enrolee={} profile={}: it gets the same answer", enrolee.enrolee().id(),
                    policy.profile().name());
            Counter.builder("mef.enrolment.repeats.joined")
                    .description("Repeats of a request still being decided and signed (a client retrying before its first answer, "
                            + "e.g. after the request deadline's 503) that wait for that request's answer instead of being refused")
                    .tags("profile", policy.profile().name())
                    .register(meters)
                    .increment();
            return running;
        }
        work.get().onComplete(mine);
        mine.future().onComplete(done -> inFlight.remove(key, mine.future()));
        return mine.future();
    }

    /** A held request's state, the certificate of a repeat, or the decision on a new request. */
    private Future<byte[]> answer(Caller caller, PolicyEngine policy, Request request, Lookup found, Operation operation,
                                  Optional<String> channelBinding) {
        StoredEnrolee enrolee = caller.enrolee();
        if (found.held().isPresent()) {
            return answerHeld(enrolee, policy, found.held().get());
        }
        // Only with a valid proof of possession: a copy of someone's CSR with a broken signature
        // goes to policy, which refuses it (csr.signature).
        if (found.repeatOf().isPresent() && request.csr().signatureValid()) {
            return redeliver(enrolee, policy, found.repeatOf().get(), operation);
        }
        return decideAndIssue(caller, policy, request, found, operation, channelBinding);
    }

    /**
     * The same request again within the profile's redelivery window, after its answer was lost
     * (the client could not read it, the deadline answered 503 while signing went on, the
     * connection dropped): the certificate already issued for it, never a second one (RFC 7030
     * 4.2.3: a client repeats its request). Not once it is revoked.
     */
    private Future<byte[]> redeliver(StoredEnrolee enrolee, PolicyEngine policy, IssuedCertificate cert, Operation operation) {
        if (cert.status() != IssuedCertificate.Status.ISSUED) {
            return Future.failedFuture(refuse(enrolee, policy, 403, REDELIVERY_REVOKED, "this request was answered with certificate "
                    + cert.serialHex() + ", which has been revoked since; it is not handed out again: "
                    + (operation == Operation.REENROL ? "renew with a new key" : "ask the operator to instruct the Enrolee again")));
        }
        LOG.info("redelivered enrolee={} profile={} serial={} (a repeat of the request it was issued for)", enrolee.enrolee().id(),
                cert.profile(), cert.serialHex());
        Counter.builder("mef.certificates.redelivered")
                .description("Repeats of an issued request answered with the certificate already issued for it (no new signature), "
                        + "by profile and EST operation")
                .tags("profile", cert.profile(), "operation", operation.estName())
                .register(meters)
                .increment();
        store.audit(new AuditEvent.Draft(clock.instant(), "certificate.redelivered", "enrolee:" + enrolee.enrolee().id(),
                        "serial:" + cert.serialHex(), "profile=" + cert.profile() + " operation=" + operation.estName()
                        + " issuedAt=" + cert.issuedAt()))
                .whenComplete((recorded, failure) -> {
                    if (failure != null) {
                        LOG.error("redelivery to enrolee={} serial={} not in the audit log: {}", enrolee.enrolee().id(),
                                cert.serialHex(), failure.toString());
                    }
                });
        return Future.succeededFuture(cert.der());
    }

    private Future<byte[]> decideAndIssue(Caller caller, PolicyEngine policy, Request request, Lookup found,
                                          Operation operation, Optional<String> channelBinding) {
        StoredEnrolee enrolee = caller.enrolee();
        String label = PolicyDirectory.labelOf(policy.profile().name());
        // Checked after the held-request lookup: a repeated held request has already claimed the command.
        if (found.noCommand().isPresent()) {
            return Future.failedFuture(noPendingCommand(enrolee, policy, found.noCommand().get()));
        }
        Decision.Issue issue = decide(enrolee, policy, request.csr(), new EnrolmentContext(label,
                enrolee.bootstrapFingerprint(), enrolee.enrolee(), found.challenge(),
                caller.current().map(RegistrationAuthority::currentCertificate), channelBinding, found.issuedLastDay(),
                ca(policy).caCertificate().getNotAfter().toInstant(), clock.instant()));
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
                ? Optional.of(new HeldRequest(HexFormat.of().formatHex(randomId()), enrolee.enrolee().id(), label,
                        operation == Operation.REENROL, caller.current().map(c -> c.getSerialNumber().toString(16)),
                        request.hash(), request.key(), request.der(), HeldRequest.Status.PENDING,
                        Optional.empty(), Optional.empty(), claimedAt, Optional.empty()))
                : Optional.empty();
        // A held request is not an issuance: its approval takes the place (see approve).
        Optional<IssuanceReservation> reservation = hold.isPresent() ? Optional.empty() : reservation(policy, claimedAt);
        Optional<String> reservationId = reservation.map(IssuanceReservation::id);
        return beginIssuance(enrolee, policy, challengeHash, firstEnrolment, claimedAt, hold, reservation).compose(claimed -> {
            if (hold.isPresent()) {
                LOG.info("held for approval enrolee={} profile={} request={}", enrolee.enrolee().id(), policy.profile().name(),
                        hold.get().id());
                return Future.failedFuture(deferred(policy, policy.profile().approval().retryAfter()));
            }
            // A server-generated key is never stored, so its certificate cannot answer a repeat.
            Optional<String> requestKey = operation == Operation.SERVERKEYGEN ? Optional.empty() : Optional.of(request.key());
            return issueAndRecord(ca(policy), enrolee.enrolee().id(), issue, operation, requestKey, reservationId, SERIAL_ATTEMPTS)
                    .map(IssuedCertificate::der)
                    .recover(failure -> abandonIssuance(enrolee.enrolee().id(), challengeHash, firstEnrolment, claimedAt,
                            reservationId, failure));
        });
    }

    /**
     * TS-0003 8.3.9.7: an Enrolee enrols when the MEF instructed it to (a pending CERT_PROV
     * command). Once its certificate is issued the command is NO_MORE_COMMANDS, and its bootstrap
     * certificate gets no second certificate until the operator instructs it again. {@code why}
     * says what spent the command.
     */
    private EstError noPendingCommand(StoredEnrolee enrolee, PolicyEngine policy, String why) {
        return refuse(enrolee, policy, 403, "enrolee.no-pending-command", "no CERT_PROV command is pending for Enrolee "
                + enrolee.enrolee().id() + ": " + why);
    }

    /** What spent the Enrolee's last instruction: a request waiting for approval, one an operator rejected, or an issuance. */
    private String whyNoCommand(StoredEnrolee enrolee) {
        String id = enrolee.enrolee().id();
        Optional<HeldRequest> last = store.latestHeldRequest(id, enrolee.instructedAt());
        if (last.isPresent() && last.get().status() == HeldRequest.Status.PENDING) {
            return "its request " + last.get().id() + " is waiting for an operator's approval: repeat that request (the same key "
                    + "and names) to learn the outcome";
        }
        if (last.isPresent() && last.get().status() == HeldRequest.Status.REJECTED && !store.issuedAfter(id, last.get().createdAt())) {
            return "an operator rejected its request " + last.get().id() + " (" + last.get().reason().orElse("no reason given")
                    + "); the operator must instruct it again";
        }
        return "its certificate was already issued; the operator must instruct it again";
    }

    /** The CSR as received (its hash as first seen), as parsed, and what it asks for ({@link RequestKey}). */
    private record Request(byte[] der, String hash, CsrFacts csr, String key) {
        /** The same request for a key the MEF generated (serverkeygen). */
        Request withKey(PublicKey key) throws MalformedCsrException {
            CsrFacts forKey = csr.withSubjectPublicKey(key.getEncoded());
            return new Request(der, hash, forKey, RequestKey.of(forKey));
        }
    }

    /** RFC 8951 base64; a body that is not is a refusal like any other, audited with the Enrolee it came from. */
    private byte[] decode(StoredEnrolee enrolee, PolicyEngine policy, byte[] body) {
        try {
            return EstWire.decodeBase64(body);
        } catch (EstError e) {
            throw refuse(enrolee, policy, e.status(), "body.base64", e.reason());
        }
    }

    private Request parse(StoredEnrolee enrolee, PolicyEngine policy, byte[] der) {
        try {
            CsrFacts csr = CsrParser.parse(der);
            return new Request(der, sha256(der), csr, RequestKey.of(csr));
        } catch (MalformedCsrException e) {
            throw refuse(enrolee, policy, 400, "csr.malformed", e.getMessage());
        }
    }

    /**
     * Every refusal that names a rule passes here once: it is logged with the Enrolee it concerns
     * and counted in {@code mef_policy_decisions_total}.
     */
    private EstError refuse(StoredEnrolee enrolee, PolicyEngine policy, int status, String ruleId, String reason) {
        String profile = policy.profile().name();
        LOG.info("denied enrolee={} profile={} rule={} status={} reason={}",
                enrolee.enrolee().id(), profile, ruleId, status, LogText.safe(reason));
        countDecision(profile, "deny", ruleId);
        if (CHALLENGE_UNEXPIRED.equals(ruleId)) {
            challengesExpired.increment();
        }
        // Not awaited: the refusal is sent at once; the event follows in the next group commit.
        store.audit(new AuditEvent.Draft(clock.instant(), "enrolment.refused", "enrolee:" + enrolee.enrolee().id(), "rule:" + ruleId,
                        "status=" + status + " profile=" + profile + " reason=" + reason))
                .whenComplete((recorded, failure) -> {
                    if (failure != null) {
                        LOG.error("refusal of enrolee={} rule={} not in the audit log: {}", enrolee.enrolee().id(), ruleId, failure.toString());
                    }
                });
        return EstError.denied(status, profile, ruleId, reason);
    }

    private void countDecision(String profile, String result, String rule) {
        Counter.builder("mef.policy.decisions")
                .description("Policy decisions on CSRs, by profile, result (issue or deny) and the rule that denied")
                .tags("profile", profile, "result", result, "rule", rule)
                .register(meters)
                .increment();
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
                ? Optional.of(whyNoCommand(enrolee)) : Optional.empty();
        Optional<IssuedChallenge> challenge = request.csr().challengePassword()
                .flatMap(value -> store.challenge(Challenges.hash(value)));
        // The count is a query over the ledger (7% of the gateway's CPU at peak in ops/bench e2e):
        // only a profile with a per-Enrolee limit needs it. It refuses early what is over the limit
        // already; the claim decides atomically what arrives at once (Store.beginIssuance).
        int issuedLastDay = policy.profile().maxIssuancesPerDay() > 0 ? store.issuedSince(id, now.minus(RATE_WINDOW)) : 0;
        return new Lookup(challenge, issuedLastDay, Optional.empty(), Optional.empty(), noCommand);
    }

    private Decision.Issue decide(StoredEnrolee enrolee, PolicyEngine policy, CsrFacts csr, EnrolmentContext ctx) {
        Decision decision = policy.decide(csr, ctx);
        if (decision instanceof Decision.Deny deny) {
            throw refuse(enrolee, policy, deny.httpStatus(), deny.ruleId(), deny.reason());
        }
        Decision.Issue issue = (Decision.Issue) decision;
        countDecision(issue.profile(), "issue", "none");
        return issue;
    }

    /** RFC 7030 4.2.2: the certificate being renewed, as policy compares it with the CSR. */
    private static CurrentCertificate currentCertificate(X509Certificate cert) {
        try {
            return CurrentCertificate.of(cert.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a certificate this CA issued cannot be encoded", e);
        }
    }

    /**
     * Single use of the challenge, of the command on a first enrolment, and a place under the
     * Enrolee's issuance limit, enforced by the database.
     */
    private Future<Void> beginIssuance(StoredEnrolee enrolee, PolicyEngine policy, String challengeHash, boolean claimCommand,
                                       Instant claimedAt, Optional<HeldRequest> hold, Optional<IssuanceReservation> reservation) {
        int maxPending = policy.profile().approval().maxPendingPerEnrolee();
        return storeWorkers.executeBlocking(() -> {
            switch (store.beginIssuance(challengeHash, enrolee.enrolee().id(), claimCommand, claimedAt, hold, maxPending, reservation)) {
                case CLAIMED -> {
                    if (challengeHash != null) {
                        challengesConsumed.increment();
                    }
                    return null;
                }
                case CHALLENGE_NOT_USABLE -> throw refuse(enrolee, policy, 403, "challenge.unused",
                        "this challengePassword has just been used by another request; get a new one from csrattrs");
                case PENDING_LIMIT -> throw refuse(enrolee, policy, 403, APPROVAL_PENDING_LIMIT, "Enrolee " + enrolee.enrolee().id()
                        + " already has " + maxPending + " request(s) waiting for an operator's approval, the most profile "
                        + policy.profile().name() + " holds: repeat a waiting request (the same key and names) to learn its "
                        + "outcome, or ask the operator to reject it");
                case ISSUANCE_LIMIT -> throw refuse(enrolee, policy, 429, RATE_PER_ENROLEE, limitReached(enrolee, policy));
                default -> throw noPendingCommand(enrolee, policy, whyNoCommand(enrolee));
            }
        }, false);
    }

    /**
     * The place under the profile's per-Enrolee limit that an issuance claimed at {@code claimedAt}
     * takes; none when the profile has no limit.
     */
    private static Optional<IssuanceReservation> reservation(PolicyEngine policy, Instant claimedAt) {
        int limit = policy.profile().maxIssuancesPerDay();
        return limit == 0 ? Optional.empty()
                : Optional.of(new IssuanceReservation(HexFormat.of().formatHex(randomId()), limit, claimedAt.minus(RATE_WINDOW)));
    }

    /** Why the claim found no place under the limit: what policy says, counting the issuances still being signed. */
    private static String limitReached(StoredEnrolee enrolee, PolicyEngine policy) {
        int limit = policy.profile().maxIssuancesPerDay();
        return "Enrolee " + enrolee.enrolee().id() + " already got " + limit + " certificates in the last 24 hours, counting "
                + "those being issued right now; profile " + policy.profile().name() + " allows " + limit;
    }

    /**
     * Nothing was issued: give the challenge (and the command, and the place under the issuance
     * limit) back, then report the original failure. When the store refuses that too, it is
     * retried in the background until the store is back, so the Enrolee's retry succeeds without
     * an operator re-instructing it.
     */
    private <T> Future<T> abandonIssuance(String enroleeId, String challengeHash, boolean restoreCommand, Instant claimedAt,
                                          Optional<String> reservation, Throwable failure) {
        IssuanceClaim claim = new IssuanceClaim(enroleeId, challengeHash, restoreCommand, claimedAt, reservation);
        return release(claim).transform(released -> {
            if (released.failed()) {
                LOG.error("could not release the claim of enrolee={} after a failed issuance ({}); retrying until the store is back",
                        claim.enroleeId(), released.cause().toString());
                retryRelease(claim, 1);
            }
            return Future.<T>failedFuture(failure);
        });
    }

    /** What {@link Store#beginIssuance} took for one request, to give back. */
    private record IssuanceClaim(String enroleeId, String challengeHash, boolean restoreCommand, Instant claimedAt,
                                 Optional<String> reservation) {
    }

    private Future<Void> release(IssuanceClaim claim) {
        return storeWorkers.executeBlocking(() -> {
            store.abandonIssuance(claim.challengeHash(), claim.enroleeId(), claim.restoreCommand(), claim.claimedAt(),
                    claim.reservation());
            return null;
        }, false);
    }

    /** Attempt {@code attempt} after 1, 2, 4 … s, at most a minute apart, for as long as the gateway runs. */
    private void retryRelease(IssuanceClaim claim, int attempt) {
        long delay = Math.min(RELEASE_RETRY_MAX.toMillis(), 1000L << Math.min(attempt - 1, 16));
        vertx.setTimer(delay, t -> release(claim).onComplete(released -> {
            if (released.succeeded()) {
                LOG.info("released the claim of enrolee={} after {} retries: its next request can be issued", claim.enroleeId(), attempt);
            } else {
                LOG.warn("still cannot release the claim of enrolee={} (retry {}): {}", claim.enroleeId(), attempt,
                        released.cause().toString());
                retryRelease(claim, attempt + 1);
            }
        }));
    }

    private Future<IssuedCertificate> issueAndRecord(CertificateAuthority ca, String enroleeId, Decision.Issue issue,
                                                     Operation operation, Optional<String> requestKey, Optional<String> reservation,
                                                     int attemptsLeft) {
        return issueAndRecord(ca, enroleeId, issue, operation, requestKey, reservation, Serials.next(), attemptsLeft);
    }

    /** Signs and records; the record frees the claim's place under the issuance limit ({@code reservation}). */
    private Future<IssuedCertificate> issueAndRecord(CertificateAuthority ca, String enroleeId, Decision.Issue issue,
                                                     Operation operation, Optional<String> requestKey, Optional<String> reservation,
                                                     BigInteger serial, int attemptsLeft) {
        CertificateTemplate t = issue.template();
        Future<byte[]> signed;
        try {
            signed = Future.fromCompletionStage(ca.issue(t, serial));
        } catch (RuntimeException e) {
            // A template the CA cannot encode must still release the claim (see enrol).
            signed = Future.failedFuture(e);
        }
        return signed
                .compose(der -> {
                    IssuedCertificate recorded = new IssuedCertificate(serial.toString(16), enroleeId, issue.profile(),
                            t.subject(), t.subjectAltNames().stream().map(Object::toString).collect(Collectors.joining(",")),
                            t.notBefore(), t.notAfter(), IssuedCertificate.Status.ISSUED, clock.instant(), der, requestKey);
                    // Group commit: completes once the certificate and its audit event are durable.
                    return Future.fromCompletionStage(store.recordIssuance(recorded, reservation)).map(committed -> {
                        LOG.info("issued enrolee={} profile={} serial={} subject={}", enroleeId, issue.profile(),
                                serial.toString(16), LogText.safe(t.subject()));
                        Counter.builder("mef.certificates.issued")
                                .description("Certificates signed and durably recorded in the ledger, by profile and EST operation "
                                        + "(an approved held request counts under the operation it arrived with)")
                                .tags("profile", issue.profile(), "operation", operation.estName())
                                .register(meters)
                                .increment();
                        return recorded;
                    });
                })
                .recover(e -> {
                    // 127 random bits collide practically never; if they do, the ledger's key says so
                    // and the certificate with the duplicate serial is discarded, never returned.
                    if (e instanceof DuplicateException && attemptsLeft > 1) {
                        LOG.warn("serial {} already in the ledger; issuing again with a new serial", serial.toString(16));
                        return issueAndRecord(ca, enroleeId, issue, operation, requestKey, reservation, Serials.next(), attemptsLeft - 1);
                    }
                    return Future.failedFuture(e);
                });
    }

    // --- Deferred issuance (RFC 7030 4.2.3) --------------------------------------------------

    private static byte[] randomId() {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        return id;
    }

    private static EstError deferred(PolicyEngine policy, Duration retry) {
        return EstError.deferred("profile " + policy.profile().name() + " requires an operator's approval; the request is "
                + "held: send the same request again after " + retry.toSeconds() + " seconds", retry);
    }

    /** The client repeated a held request: answer with its state (RFC 7030 4.2.3). */
    private Future<byte[]> answerHeld(StoredEnrolee enrolee, PolicyEngine policy, HeldRequest held) {
        return switch (held.status()) {
            case PENDING -> Future.failedFuture(deferred(policy, policy.profile().approval().retryAfter()));
            case REJECTED -> Future.failedFuture(refuse(enrolee, policy, 403, "approval.rejected",
                    "an operator rejected this request: " + held.reason().orElse("no reason given")));
            case APPROVED -> storeWorkers.executeBlocking(() -> store.certificate(held.serialHex().orElseThrow())
                    .map(IssuedCertificate::der)
                    .orElseThrow(() -> EstError.deferred("the request was approved and is being signed", SIGNING_RETRY)), false);
        };
    }

    /**
     * An operator approves a held request: the current profile of its label decides it again
     * (a profile tightened meanwhile still applies), except for what was checked and consumed
     * when the request arrived — its challenge or channel binding. A held re-enrolment is decided
     * as one, against the certificate it renews (still in the ledger, not revoked).
     * The request is marked approved before signing, so two approvals sign it once; if signing or
     * recording fails it is pending again.
     */
    public Future<IssuedCertificate> approve(String requestId) {
        BigInteger serial = Serials.next();
        return storeWorkers.executeBlocking(() -> {
            HeldRequest held = store.heldRequest(requestId).orElseThrow(() -> EstError.of(404, "no held request " + requestId));
            StoredEnrolee enrolee = store.enrolee(held.enroleeId()).orElseThrow(() -> EstError.of(409,
                    "the Enrolee " + held.enroleeId() + " is no longer registered"));
            Optional<IssuedCertificate> renewed = held.renewsSerial().flatMap(store::certificate);
            if (held.reenrol() && renewed.filter(c -> c.status() == IssuedCertificate.Status.ISSUED).isEmpty()) {
                throw EstError.of(409, "request " + requestId + " renews certificate " + held.renewsSerial().orElse("(not recorded)")
                        + ", which is not in the ledger as issued (revoked since?): reject it");
            }
            if (!store.decideRequest(requestId, HeldRequest.Status.APPROVED, null, serial.toString(16), clock.instant())) {
                throw EstError.of(409, "request " + requestId + " is not pending (it is " + held.status() + ")");
            }
            return new Approving(held, enrolee, renewed, store.issuedSince(enrolee.enrolee().id(), clock.instant().minus(RATE_WINDOW)));
        }, false).compose(approving -> {
            HeldRequest held = approving.held();
            StoredEnrolee enrolee = approving.enrolee();
            int issuedLastDay = approving.issuedLastDay();
            Optional<PolicyEngine> labelPolicy = policies.forLabel(held.label());
            Future<Decision.Issue> decided = labelPolicy.isEmpty()
                    ? Future.failedFuture(EstError.of(409, "no profile serves label '" + held.label() + "' any more"))
                    : cpuWorkers.executeBlocking(() -> {
                        PolicyEngine policy = labelPolicy.get();
                        CsrFacts csr = CsrParser.parse(held.csr());
                        Instant now = clock.instant();
                        Optional<IssuedChallenge> consumed = csr.challengePassword()
                                .map(c -> new IssuedChallenge(enrolee.enrolee().id(), now.plusSeconds(1), false));
                        Optional<CurrentCertificate> current = approving.renewed().map(c -> CurrentCertificate.of(c.der()));
                        Decision decision = policy.decide(csr, new EnrolmentContext(held.label(), enrolee.bootstrapFingerprint(),
                                enrolee.enrolee(), consumed, current, csr.challengePassword(), issuedLastDay,
                                ca(policy).caCertificate().getNotAfter().toInstant(), now));
                        if (decision instanceof Decision.Deny deny) {
                            throw EstError.denied(409, deny.profile(), deny.ruleId(),
                                    "the profile now refuses this request: " + deny.reason());
                        }
                        return (Decision.Issue) decision;
                    }, false);
            return decided.compose(issue -> signApproved(enrolee, labelPolicy.get(), held, issue, serial))
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

    /**
     * Signs an approved request once it has taken a place under the Enrolee's issuance limit, in
     * one transaction with the Enrolee's row locked as for an arriving request, so approvals made
     * at once cannot exceed the limit either: beyond it the approval is refused (409, the rule) and
     * the request is pending again. A held request takes no place while it waits: it is not an
     * issuance, and one the operator rejects must not use up the Enrolee's limit.
     */
    private Future<IssuedCertificate> signApproved(StoredEnrolee enrolee, PolicyEngine policy, HeldRequest held,
                                                   Decision.Issue issue, BigInteger serial) {
        String id = enrolee.enrolee().id();
        Instant claimedAt = clock.instant();
        Optional<IssuanceReservation> reservation = reservation(policy, claimedAt);
        Optional<String> reservationId = reservation.map(IssuanceReservation::id);
        Future<Void> reserved = reservation.isEmpty() ? Future.succeededFuture() : storeWorkers.executeBlocking(() -> {
            if (store.beginIssuance(null, id, false, claimedAt, Optional.empty(), 0, reservation) == Store.Claim.ISSUANCE_LIMIT) {
                throw EstError.denied(409, policy.profile().name(), RATE_PER_ENROLEE,
                        "the profile now refuses this request: " + limitReached(enrolee, policy));
            }
            return null;
        }, false);
        return reserved.compose(v -> issueAndRecord(ca(policy), id, issue, held.reenrol() ? Operation.REENROL : Operation.ENROL,
                        Optional.ofNullable(held.requestKey()), reservationId, serial, 1)
                .recover(failure -> reservation.isEmpty() ? Future.<IssuedCertificate>failedFuture(failure)
                        : abandonIssuance(id, null, false, claimedAt, reservationId, failure)));
    }

    /** An operator rejects a held request; the client's next repeat gets 403 with the reason. */
    public Future<Void> reject(String requestId, String reason) {
        return storeWorkers.executeBlocking(() -> {
            if (!store.decideRequest(requestId, HeldRequest.Status.REJECTED, reason, null, clock.instant())) {
                throw store.heldRequest(requestId).isPresent()
                        ? EstError.of(409, "request " + requestId + " is not pending")
                        : EstError.of(404, "no held request " + requestId);
            }
            LOG.info("operator rejected request={} reason={}", requestId, LogText.safe(reason));
            return null;
        }, false);
    }

    /** TS-0003 8.3.9.7 result codes: OK, or whose side the failure was on. Deferral is not a result yet. */
    private void recordCommandResult(StoredEnrolee enrolee, Throwable failure) {
        StoredEnrolee.CommandResult result;
        if (failure == null) {
            result = StoredEnrolee.CommandResult.OK;
        } else if (failure instanceof EstError e && e.status() == 202) {
            return;
        } else if (failure instanceof EstError e && e.status() >= 400 && e.status() < 500) {
            result = StoredEnrolee.CommandResult.CERT_PROV_CLIENT_ERROR;
        } else {
            result = StoredEnrolee.CommandResult.CERT_PROV_SERVER_ERROR;
        }
        storeWorkers.executeBlocking(() -> {
            store.recordCommandResult(enrolee.enrolee().id(), result);
            return null;
        }, false).onFailure(e -> LOG.warn("could not record the command result of enrolee={}: {}", enrolee.enrolee().id(),
                e.toString()));
    }

    /** Whether one of this gateway's CA keys signed the certificate (names can collide; signatures cannot). */
    private boolean issuedByThisCa(X509Certificate cert) {
        for (CertificateAuthority ca : cas.values()) {
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

    private static String sha256(byte[] der) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }
}
