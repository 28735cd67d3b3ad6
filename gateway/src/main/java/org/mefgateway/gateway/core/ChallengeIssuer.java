package org.mefgateway.gateway.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.SubjectAltName;

/**
 * TS-0003 steps 4-5 (and 8.3.6.2.3 on re-enrolment): a fresh challengePassword bound to the
 * Enrolee, single use, expiring after the profile's challenge lifetime, with the key, identity
 * and EKUs its CSR must request. No challenge when the profile does not require one.
 */
public final class ChallengeIssuer {
    private final Store store;
    private final Profiles profiles;
    private final CommandResults commands;
    private final WorkerExecutor storeWorkers;
    private final Clock clock;
    private final Counter challengesIssued;

    ChallengeIssuer(Store store, Profiles profiles, CommandResults commands, WorkerExecutor storeWorkers, MeterRegistry meters,
                    Clock clock) {
        this.store = store;
        this.profiles = profiles;
        this.commands = commands;
        this.storeWorkers = storeWorkers;
        this.clock = clock;
        this.challengesIssued = Counter.builder("mef.challenges.issued")
                .description("challengePasswords handed out by csrattrs or with an operator's SCEP instruction (stored, single use, expiring)")
                .register(meters);
    }

    public Future<CsrAttributes> csrAttributes(Caller caller, String label) {
        StoredEnrolee enrolee = caller.enrolee();
        PolicyEngine policy;
        try {
            policy = profiles.policyFor(caller, label);
        } catch (OperationException e) {
            return Future.failedFuture(e);
        }
        Profile profile = policy.profile();
        Optional<SubjectAltName> identity = profile.subjectAltName().bindToRegisteredIdentity()
                ? Optional.of(enrolee.enrolee().identity()) : Optional.empty();
        List<String> ekus = profile.eku().forSuids(enrolee.enrolee().suids());
        boolean reenrolment = caller.current().isPresent();
        boolean withChallenge = profile.challenge().required()
                && !(reenrolment && profile.reenrolment().challenge() == Profile.ReenrolmentChallenge.NONE);
        if (!reenrolment && enrolee.command() != StoredEnrolee.Command.CERT_PROV) {
            return storeWorkers.executeBlocking(() -> {
                throw commands.noPendingCommand(enrolee, policy, commands.whyNoCommand(enrolee));
            }, false);
        }
        if (!withChallenge) {
            return Future.succeededFuture(new CsrAttributes(Optional.empty(), profile.keys(), identity, ekus));
        }
        return issue(enrolee, profile).map(challenge -> new CsrAttributes(Optional.of(challenge), profile.keys(), identity, ekus));
    }

    /**
     * The challengePassword an operator's SCEP instruction hands out (TS-0003 8.3.6.3: SCEP has no
     * csrattrs, so the provisioning system gives it to the device, whose CSR carries it, RFC 8894
     * 2.2 and 3.3.1). Bound to the Enrolee like a csrattrs challenge, single use (the pipeline's
     * claim spends it) and expiring after the challenge lifetime of the profile its CERT_PROV
     * command names. Issued whether or not that profile requires a challenge: a SCEP request names
     * its Enrolee by it.
     */
    public Future<String> issueFor(StoredEnrolee enrolee) {
        Profile profile;
        try {
            profile = profiles.policy(enrolee.instructedProfile().map(PolicyDirectory::labelOf).orElse("")).profile();
        } catch (OperationException e) {
            return Future.failedFuture(e);
        }
        return issue(enrolee, profile);
    }

    /** A new challenge for {@code enrolee}, stored (hashed) with the expiry of {@code profile}'s challenge lifetime. */
    private Future<String> issue(StoredEnrolee enrolee, Profile profile) {
        String challenge = Challenges.next();
        Instant now = clock.instant();
        Instant expires = now.plus(profile.challenge().lifetime());
        return storeWorkers.executeBlocking(() -> {
            store.saveChallenge(Challenges.hash(challenge), enrolee.enrolee().id(), now, expires);
            challengesIssued.increment();
            return challenge;
        }, false);
    }
}
