package org.mefgateway.gateway.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client that repeats a request (RFC 7030 4.2.3) after losing its answer gets that answer, not
 * a refusal for the challenge its first attempt spent: a repeat of a request still in progress
 * joins it, and a repeat of one already issued gets the same certificate.
 */
final class Repeats {
    private static final Logger LOG = LoggerFactory.getLogger(Repeats.class);
    /** A repeat of a request whose certificate was revoked since: it is not handed out again. */
    static final String REDELIVERY_REVOKED = "redelivery.revoked";

    private final Store store;
    private final Profiles profiles;
    private final Refusals refusals;
    private final MeterRegistry meters;
    private final Clock clock;
    /**
     * Requests being decided and signed right now, by Enrolee, profile and what they ask for: a
     * repeat that arrives meanwhile (a client whose deadline answered 503, or whose connection
     * dropped) joins the first instead of being refused for its spent challenge.
     */
    private final Map<String, Future<Outcome>> inFlight = new ConcurrentHashMap<>();

    Repeats(Store store, Profiles profiles, Refusals refusals, MeterRegistry meters, Clock clock) {
        this.store = store;
        this.profiles = profiles;
        this.refusals = refusals;
        this.meters = meters;
        this.clock = clock;
    }

    /**
     * One answer per request: a repeat of a request that is still being decided and signed (same
     * Enrolee, profile, key and names, with a signature that verifies) gets the first one's answer
     * rather than a refusal for the challenge the first one spent.
     */
    Future<Outcome> once(StoredEnrolee enrolee, PolicyEngine policy, String requestKey, boolean proofOfPossession,
                         Supplier<Future<Outcome>> work) {
        if (!proofOfPossession) {
            return work.get(); // no proof of possession: policy refuses it, it joins nothing
        }
        String key = enrolee.enrolee().id() + "/" + policy.profile().name() + "/" + requestKey;
        Promise<Outcome> mine = Promise.promise();
        Future<Outcome> running = inFlight.putIfAbsent(key, mine.future());
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

    /**
     * The same request again within the profile's redelivery window, after its answer was lost
     * (the client could not read it, the deadline answered 503 while signing went on, the
     * connection dropped): the certificate already issued for it, never a second one (RFC 7030
     * 4.2.3: a client repeats its request). Not once it is revoked.
     */
    Future<Outcome> redeliver(StoredEnrolee enrolee, PolicyEngine policy, IssuedCertificate cert, Operation operation) {
        if (cert.status() != IssuedCertificate.Status.ISSUED) {
            return Future.failedFuture(refusals.refuse(enrolee, policy, REDELIVERY_REVOKED, "this request was answered with certificate "
                    + cert.serialHex() + ", which has been revoked since; it is not handed out again: "
                    + (operation == Operation.REENROL ? "renew with a new key" : "ask the operator to instruct the Enrolee again")));
        }
        LOG.info("redelivered enrolee={} profile={} serial={} (a repeat of the request it was issued for)", enrolee.enrolee().id(),
                cert.profile(), cert.serialHex());
        Counter.builder("mef.certificates.redelivered")
                .description("Repeats of an issued request answered with the certificate already issued for it (no new signature), "
                        + "by profile and EST operation")
                .tags("profile", cert.profile(), "operation", operation.metricName())
                .register(meters)
                .increment();
        store.audit(new AuditEvent.Draft(clock.instant(), "certificate.redelivered", "enrolee:" + enrolee.enrolee().id(),
                        "serial:" + cert.serialHex(), "profile=" + cert.profile() + " operation=" + operation.metricName()
                        + " issuedAt=" + cert.issuedAt()))
                .whenComplete((recorded, failure) -> {
                    if (failure != null) {
                        LOG.error("redelivery to enrolee={} serial={} not in the audit log: {}", enrolee.enrolee().id(),
                                cert.serialHex(), failure.toString());
                    }
                });
        return Future.succeededFuture(new Outcome.Issued(cert.der(), profiles.ca(policy).chain(), Optional.empty()));
    }
}
