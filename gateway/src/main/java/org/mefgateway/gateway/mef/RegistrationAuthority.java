package org.mefgateway.gateway.mef;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Collectors;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.gateway.est.EstError;
import org.mefgateway.gateway.est.EstWire;
import org.mefgateway.gateway.store.DuplicateException;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.Decision;
import org.mefgateway.policy.EnrolmentContext;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.MalformedCsrException;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MEF acting as Registration Authority: it knows the registered Enrolees, hands out
 * challenges, asks the policy engine about every CSR and forwards what it allows to the CA.
 * The order of an issuance is fixed: decide, consume the challenge, sign, record durably,
 * and only then return the certificate.
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

    private final Store store;
    private final PolicyDirectory policies;
    private final CertificateAuthority ca;
    private final WorkerExecutor storeWorkers;
    private final WorkerExecutor cpuWorkers;
    private final MeterRegistry meters;
    private final Clock clock;

    public RegistrationAuthority(Store store, PolicyDirectory policies, CertificateAuthority ca,
                                 WorkerExecutor storeWorkers, WorkerExecutor cpuWorkers, MeterRegistry meters, Clock clock) {
        this.store = store;
        this.policies = policies;
        this.ca = ca;
        this.storeWorkers = storeWorkers;
        this.cpuWorkers = cpuWorkers;
        this.meters = meters;
        this.clock = clock;
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

    /**
     * The Enrolee behind a TLS client certificate. TS-0003 8.3.6.2.1: the Enrolee is authenticated
     * by TLS (its bootstrap certificate, validated against the configured trust anchors during the
     * handshake), never by HTTP authentication; here the certificate is matched to a registration.
     */
    public Future<StoredEnrolee> authenticate(Optional<X509Certificate> clientCertificate) {
        if (clientCertificate.isEmpty()) {
            return Future.failedFuture(EstError.of(401,
                    "a TLS client certificate is required: present the bootstrap certificate the operator registered (TS-0003 8.3.6.2.1)"));
        }
        String fingerprint = TlsMaterial.fingerprint(clientCertificate.get());
        return storeWorkers.executeBlocking(() -> store.enroleeByFingerprint(fingerprint), false)
                .compose(found -> found.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(EstError.of(403,
                        "this client certificate (SHA-256 " + fingerprint + ") is not registered with the MEF: ask the operator to register the Enrolee"))));
    }

    /**
     * TS-0003 steps 4-5: a fresh challengePassword bound to this Enrolee, single use, expiring after
     * the profile's challenge lifetime, with the identity and EKUs its CSR must request.
     */
    public Future<byte[]> csrAttributes(StoredEnrolee enrolee, PolicyEngine policy) {
        if (enrolee.command() != StoredEnrolee.Command.CERT_PROV) {
            return Future.failedFuture(noPendingCommand(enrolee, policy));
        }
        String challenge = Challenges.next();
        Instant now = clock.instant();
        Instant expires = now.plus(policy.profile().challenge().lifetime());
        return storeWorkers.executeBlocking(() -> {
            store.saveChallenge(Challenges.hash(challenge), enrolee.enrolee().id(), now, expires);
            return EstWire.csrAttributes(challenge, enrolee.enrolee().identity(),
                    policy.profile().eku().forSuids(enrolee.enrolee().suids()));
        }, false);
    }

    /**
     * TS-0003 steps 7-12 for one CSR, given as the request body (base64 of the DER, RFC 8951);
     * completes with the DER of the recorded certificate.
     */
    public Future<byte[]> enrol(StoredEnrolee enrolee, String label, PolicyEngine policy, byte[] body) {
        if (enrolee.command() != StoredEnrolee.Command.CERT_PROV) {
            return Future.failedFuture(noPendingCommand(enrolee, policy));
        }
        return cpuWorkers.executeBlocking(() -> parse(enrolee, policy, EstWire.decodeBase64(body)), false)
                .compose(csr -> storeWorkers.executeBlocking(() -> lookup(enrolee, csr), false)
                        .map(found -> decide(enrolee, label, policy, csr, found))
                        .compose(issue -> {
                            // null when the profile waives the challenge and the CSR carries none
                            String challengeHash = csr.challengePassword().map(Challenges::hash).orElse(null);
                            return beginIssuance(enrolee, policy, challengeHash)
                                    .compose(claimed -> issueAndRecord(enrolee, issue, SERIAL_ATTEMPTS)
                                            .recover(failure -> abandonIssuance(enrolee, challengeHash, failure)));
                        }));
    }

    /**
     * TS-0003 8.3.9.7: an Enrolee enrols when the MEF instructed it to (a pending CERT_PROV
     * command). Once its certificate is issued the command is NO_MORE_COMMANDS, and its bootstrap
     * certificate gets no second certificate until the operator instructs it again.
     */
    private EstError noPendingCommand(StoredEnrolee enrolee, PolicyEngine policy) {
        return refuse(enrolee, policy, 403, "enrolee.no-pending-command", "no CERT_PROV command is pending for Enrolee "
                + enrolee.enrolee().id() + ": its certificate was already issued; the operator must instruct it again");
    }

    private CsrFacts parse(StoredEnrolee enrolee, PolicyEngine policy, byte[] der) {
        try {
            return CsrParser.parse(der);
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
        return EstError.denied(status, profile, ruleId, reason);
    }

    private void countDecision(String profile, String result, String rule) {
        Counter.builder("mef.policy.decisions")
                .description("Policy decisions on CSRs, by profile, result (issue or deny) and the rule that denied")
                .tags("profile", profile, "result", result, "rule", rule)
                .register(meters)
                .increment();
    }

    /** What the store knows that policy needs: the challenge presented and the Enrolee's recent issuances. */
    private record Lookup(Optional<IssuedChallenge> challenge, int issuedLastDay) {
    }

    private Lookup lookup(StoredEnrolee enrolee, CsrFacts csr) {
        Optional<IssuedChallenge> challenge = csr.challengePassword().flatMap(value -> store.challenge(Challenges.hash(value)));
        return new Lookup(challenge, store.issuedSince(enrolee.enrolee().id(), clock.instant().minus(RATE_WINDOW)));
    }

    private Decision.Issue decide(StoredEnrolee enrolee, String label, PolicyEngine policy, CsrFacts csr, Lookup found) {
        // The TLS identity is the bootstrap certificate that authenticate() matched to this registration.
        EnrolmentContext ctx = new EnrolmentContext(label, enrolee.bootstrapFingerprint(), enrolee.enrolee(),
                found.challenge(), Optional.empty(), found.issuedLastDay(), ca.caCertificate().getNotAfter().toInstant(),
                clock.instant());
        Decision decision = policy.decide(csr, ctx);
        if (decision instanceof Decision.Deny deny) {
            throw refuse(enrolee, policy, deny.httpStatus(), deny.ruleId(), deny.reason());
        }
        Decision.Issue issue = (Decision.Issue) decision;
        countDecision(issue.profile(), "issue", "none");
        return issue;
    }

    /** Single use of the challenge and of the command, enforced by the database. */
    private Future<Void> beginIssuance(StoredEnrolee enrolee, PolicyEngine policy, String challengeHash) {
        return storeWorkers.executeBlocking(() -> {
            switch (store.beginIssuance(challengeHash, enrolee.enrolee().id(), clock.instant())) {
                case CLAIMED -> {
                    return null;
                }
                case CHALLENGE_NOT_USABLE -> throw refuse(enrolee, policy, 403, "challenge.unused",
                        "this challengePassword has just been used by another request; get a new one from csrattrs");
                default -> throw noPendingCommand(enrolee, policy);
            }
        }, false);
    }

    /** Nothing was issued: give the challenge and the command back, then report the original failure. */
    private Future<byte[]> abandonIssuance(StoredEnrolee enrolee, String challengeHash, Throwable failure) {
        return storeWorkers.executeBlocking(() -> {
            store.abandonIssuance(challengeHash, enrolee.enrolee().id());
            return null;
        }, false).transform(released -> {
            if (released.failed()) {
                LOG.error("could not release the claim of enrolee={} after a failed issuance: {}", enrolee.enrolee().id(),
                        released.cause().toString());
            }
            return Future.<byte[]>failedFuture(failure);
        });
    }

    private Future<byte[]> issueAndRecord(StoredEnrolee enrolee, Decision.Issue issue, int attemptsLeft) {
        CertificateTemplate t = issue.template();
        BigInteger serial = Serials.next();
        Future<byte[]> signed;
        try {
            signed = Future.fromCompletionStage(ca.issue(t, serial));
        } catch (RuntimeException e) {
            // A template the CA cannot encode must still release the claim (see enrol).
            signed = Future.failedFuture(e);
        }
        return signed
                .compose(der -> storeWorkers.executeBlocking(() -> {
                    store.recordIssuance(new IssuedCertificate(serial.toString(16), enrolee.enrolee().id(), issue.profile(),
                            t.subject(), t.subjectAltNames().stream().map(Object::toString).collect(Collectors.joining(",")),
                            t.notBefore(), t.notAfter(), "ISSUED", clock.instant(), der));
                    LOG.info("issued enrolee={} profile={} serial={} subject={}", enrolee.enrolee().id(), issue.profile(),
                            serial.toString(16), LogText.safe(t.subject()));
                    return der;
                }, false))
                .recover(e -> {
                    // 127 random bits collide practically never; if they do, the ledger's key says so
                    // and the certificate with the duplicate serial is discarded, never returned.
                    if (e instanceof DuplicateException && attemptsLeft > 1) {
                        LOG.warn("serial {} already in the ledger; issuing again with a new serial", serial.toString(16));
                        return issueAndRecord(enrolee, issue, attemptsLeft - 1);
                    }
                    return Future.failedFuture(e);
                });
    }
}
