package org.mefgateway.gateway.mef;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
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

    private final Store store;
    private final PolicyEngine policy;
    private final CertificateAuthority ca;
    private final WorkerExecutor storeWorkers;
    private final WorkerExecutor cpuWorkers;
    private final Clock clock;

    public RegistrationAuthority(Store store, PolicyEngine policy, CertificateAuthority ca,
                                 WorkerExecutor storeWorkers, WorkerExecutor cpuWorkers, Clock clock) {
        this.store = store;
        this.policy = policy;
        this.ca = ca;
        this.storeWorkers = storeWorkers;
        this.cpuWorkers = cpuWorkers;
        this.clock = clock;
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
    public Future<byte[]> csrAttributes(StoredEnrolee enrolee) {
        if (enrolee.command() != StoredEnrolee.Command.CERT_PROV) {
            return Future.failedFuture(noPendingCommand(enrolee));
        }
        String challenge = Challenges.next();
        Instant now = clock.instant();
        Instant expires = now.plus(policy.profile().challengeLifetime());
        return storeWorkers.executeBlocking(() -> {
            store.saveChallenge(Challenges.hash(challenge), enrolee.enrolee().id(), now, expires);
            return EstWire.csrAttributes(challenge, enrolee.enrolee().identity(),
                    policy.profile().ekusFor(enrolee.enrolee().suids()));
        }, false);
    }

    /**
     * TS-0003 steps 7-12 for one CSR, given as the request body (base64 of the DER, RFC 8951);
     * completes with the DER of the recorded certificate.
     */
    public Future<byte[]> enrol(StoredEnrolee enrolee, String label, byte[] body) {
        if (enrolee.command() != StoredEnrolee.Command.CERT_PROV) {
            return Future.failedFuture(noPendingCommand(enrolee));
        }
        return cpuWorkers.executeBlocking(() -> parse(enrolee, EstWire.decodeBase64(body)), false)
                .compose(csr -> storeWorkers.executeBlocking(() -> lookupChallenge(csr), false)
                        .map(challenge -> decide(enrolee, label, csr, challenge))
                        .compose(issue -> {
                            String challengeHash = Challenges.hash(csr.challengePassword().orElseThrow());
                            return beginIssuance(enrolee, challengeHash)
                                    .compose(claimed -> issueAndRecord(enrolee, issue, SERIAL_ATTEMPTS)
                                            .recover(failure -> abandonIssuance(enrolee, challengeHash, failure)));
                        }));
    }

    /**
     * TS-0003 8.3.9.7: an Enrolee enrols when the MEF instructed it to (a pending CERT_PROV
     * command). Once its certificate is issued the command is NO_MORE_COMMANDS, and its bootstrap
     * certificate gets no second certificate until the operator instructs it again.
     */
    private EstError noPendingCommand(StoredEnrolee enrolee) {
        return refuse(enrolee, 403, "enrolee.no-pending-command", "no CERT_PROV command is pending for Enrolee "
                + enrolee.enrolee().id() + ": its certificate was already issued; the operator must instruct it again");
    }

    private CsrFacts parse(StoredEnrolee enrolee, byte[] der) {
        try {
            return CsrParser.parse(der);
        } catch (MalformedCsrException e) {
            throw refuse(enrolee, 400, "csr.malformed", e.getMessage());
        }
    }

    /** Every refusal that names a rule is logged here, once, with the Enrolee it concerns. */
    private EstError refuse(StoredEnrolee enrolee, int status, String ruleId, String reason) {
        LOG.info("denied enrolee={} profile={} rule={} status={} reason={}",
                enrolee.enrolee().id(), policy.profile().name(), ruleId, status, LogText.safe(reason));
        // Not awaited: the refusal is sent at once; the event follows in the next group commit.
        store.audit(new AuditEvent.Draft(clock.instant(), "enrolment.refused", "enrolee:" + enrolee.enrolee().id(), "rule:" + ruleId,
                        "status=" + status + " profile=" + policy.profile().name() + " reason=" + reason))
                .whenComplete((recorded, failure) -> {
                    if (failure != null) {
                        LOG.error("refusal of enrolee={} rule={} not in the audit log: {}", enrolee.enrolee().id(), ruleId, failure.toString());
                    }
                });
        return EstError.denied(status, ruleId, reason);
    }

    private Optional<IssuedChallenge> lookupChallenge(CsrFacts csr) {
        return csr.challengePassword().flatMap(value -> store.challenge(Challenges.hash(value)));
    }

    private Decision.Issue decide(StoredEnrolee enrolee, String label, CsrFacts csr, Optional<IssuedChallenge> challenge) {
        // The TLS identity is the bootstrap certificate that authenticate() matched to this registration.
        EnrolmentContext ctx = new EnrolmentContext(label, enrolee.bootstrapFingerprint(), enrolee.enrolee(), challenge,
                ca.caCertificate().getNotAfter().toInstant(), clock.instant());
        Decision decision = policy.decide(csr, ctx);
        if (decision instanceof Decision.Deny deny) {
            throw refuse(enrolee, deny.httpStatus(), deny.ruleId(), deny.reason());
        }
        return (Decision.Issue) decision;
    }

    /** Single use of the challenge and of the command, enforced by the database. */
    private Future<Void> beginIssuance(StoredEnrolee enrolee, String challengeHash) {
        return storeWorkers.executeBlocking(() -> {
            switch (store.beginIssuance(challengeHash, enrolee.enrolee().id(), clock.instant())) {
                case CLAIMED -> {
                    return null;
                }
                case CHALLENGE_NOT_USABLE -> throw refuse(enrolee, 403, "challenge.unused",
                        "this challengePassword has just been used by another request; get a new one from csrattrs");
                default -> throw noPendingCommand(enrolee);
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
                // Group commit: completes once the certificate and its audit event are durable.
                .compose(der -> Future.fromCompletionStage(store.recordIssuance(new IssuedCertificate(serial.toString(16),
                        enrolee.enrolee().id(), issue.profile(), t.subject(),
                        t.subjectAltNames().stream().map(Object::toString).collect(Collectors.joining(",")),
                        t.notBefore(), t.notAfter(), "ISSUED", clock.instant(), der))).map(recorded -> {
                    LOG.info("issued enrolee={} profile={} serial={} subject={}", enrolee.enrolee().id(), issue.profile(),
                            serial.toString(16), LogText.safe(t.subject()));
                    return der;
                }))
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
