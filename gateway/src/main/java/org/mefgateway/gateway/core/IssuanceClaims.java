package org.mefgateway.gateway.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import org.mefgateway.gateway.store.IssuanceReservation;
import org.mefgateway.gateway.store.HeldRequest;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an issuance takes before it is signed, enforced by the database: single use of the
 * challenge, of the command on a first enrolment, and a place under the Enrolee's issuance limit
 * ({@link Store#beginIssuance}); and giving it all back when nothing was issued, retried on a
 * timer while the store keeps failing.
 */
final class IssuanceClaims {
    private static final Logger LOG = LoggerFactory.getLogger(IssuanceClaims.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The window of per-Enrolee rate limits (profile rateLimit.maxIssuancesPerDay). */
    static final Duration RATE_WINDOW = Duration.ofDays(1);
    /** The longest wait between two attempts to give back a claim while the store keeps failing. */
    private static final Duration RELEASE_RETRY_MAX = Duration.ofSeconds(60);
    /** One more request of an Enrolee whose requests already wait for approval up to the profile's bound. */
    static final String APPROVAL_PENDING_LIMIT = "approval.pending-limit";
    /**
     * The per-Enrolee limit (profile rateLimit.maxIssuancesPerDay): policy-engine's rule of that
     * name refuses on the ledger's count; the claim refuses under the same rule what arrived at once.
     */
    static final String RATE_PER_ENROLEE = "rate.per-enrolee";

    private final Vertx vertx;
    private final Store store;
    private final Refusals refusals;
    private final CommandResults commands;
    private final WorkerExecutor storeWorkers;
    private final Counter challengesConsumed;

    IssuanceClaims(Vertx vertx, Store store, Refusals refusals, CommandResults commands, WorkerExecutor storeWorkers,
                   MeterRegistry meters) {
        this.vertx = vertx;
        this.store = store;
        this.refusals = refusals;
        this.commands = commands;
        this.storeWorkers = storeWorkers;
        this.challengesConsumed = Counter.builder("mef.challenges.consumed")
                .description("challengePasswords claimed by an accepted CSR; a claim given back after a failed signing or "
                        + "ledger write is counted again when the challenge is presented again")
                .register(meters);
    }

    /** What {@link Store#beginIssuance} took for one request, to give back. */
    record Claim(String enroleeId, String challengeHash, boolean restoreCommand, Instant claimedAt, Optional<String> reservation) {
    }

    static String randomId() {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    /**
     * The place under the profile's per-Enrolee limit that an issuance claimed at {@code claimedAt}
     * takes; none when the profile has no limit.
     */
    static Optional<IssuanceReservation> reservation(PolicyEngine policy, Instant claimedAt) {
        int limit = policy.profile().maxIssuancesPerDay();
        return limit == 0 ? Optional.empty()
                : Optional.of(new IssuanceReservation(randomId(), limit, claimedAt.minus(RATE_WINDOW)));
    }

    /** Why the claim found no place under the limit: what policy says, counting the issuances still being signed. */
    static String limitReached(StoredEnrolee enrolee, PolicyEngine policy) {
        int limit = policy.profile().maxIssuancesPerDay();
        return "Enrolee " + enrolee.enrolee().id() + " already got " + limit + " certificates in the last 24 hours, counting "
                + "those being issued right now; profile " + policy.profile().name() + " allows " + limit;
    }

    /** Claims what an arriving request takes, or refuses it under the rule whose claim failed. */
    Future<Void> begin(StoredEnrolee enrolee, PolicyEngine policy, String challengeHash, boolean claimCommand, Instant claimedAt,
                       Optional<HeldRequest> hold, Optional<IssuanceReservation> reservation) {
        int maxPending = policy.profile().approval().maxPendingPerEnrolee();
        return storeWorkers.executeBlocking(() -> {
            switch (store.beginIssuance(challengeHash, enrolee.enrolee().id(), claimCommand, claimedAt, hold, maxPending, reservation)) {
                case CLAIMED -> {
                    if (challengeHash != null) {
                        challengesConsumed.increment();
                    }
                    return null;
                }
                case CHALLENGE_NOT_USABLE -> throw refusals.refuse(enrolee, policy, "challenge.unused",
                        "this challengePassword has just been used by another request; get a new one from csrattrs");
                case PENDING_LIMIT -> throw refusals.refuse(enrolee, policy, APPROVAL_PENDING_LIMIT, "Enrolee " + enrolee.enrolee().id()
                        + " already has " + maxPending + " request(s) waiting for an operator's approval, the most profile "
                        + policy.profile().name() + " holds: repeat a waiting request (the same key and names) to learn its "
                        + "outcome, or ask the operator to reject it");
                case ISSUANCE_LIMIT -> throw refusals.refuse(enrolee, policy, RATE_PER_ENROLEE, limitReached(enrolee, policy));
                default -> throw commands.noPendingCommand(enrolee, policy, commands.whyNoCommand(enrolee));
            }
        }, false);
    }

    /**
     * An approved request's place under the Enrolee's issuance limit, in one transaction with the
     * Enrolee's row locked as for an arriving request; beyond the limit the approval is a conflict.
     */
    Future<Void> beginApproved(StoredEnrolee enrolee, PolicyEngine policy, Instant claimedAt, IssuanceReservation reservation) {
        return storeWorkers.executeBlocking(() -> {
            if (store.beginIssuance(null, enrolee.enrolee().id(), false, claimedAt, Optional.empty(), 0, Optional.of(reservation))
                    == Store.Claim.ISSUANCE_LIMIT) {
                throw Refusals.denied(ErrorCode.CONFLICT, policy.profile().name(), RATE_PER_ENROLEE,
                        "the profile now refuses this request: " + limitReached(enrolee, policy));
            }
            return null;
        }, false);
    }

    /**
     * Nothing was issued: give the challenge (and the command, and the place under the issuance
     * limit) back, then report the original failure. When the store refuses that too, it is
     * retried in the background until the store is back, so the Enrolee's retry succeeds without
     * an operator re-instructing it.
     */
    <T> Future<T> abandon(Claim claim, Throwable failure) {
        return release(claim).transform(released -> {
            if (released.failed()) {
                LOG.error("could not release the claim of enrolee={} after a failed issuance ({}); retrying until the store is back",
                        claim.enroleeId(), released.cause().toString());
                retryRelease(claim, 1);
            }
            return Future.<T>failedFuture(failure);
        });
    }

    private Future<Void> release(Claim claim) {
        return storeWorkers.executeBlocking(() -> {
            store.abandonIssuance(claim.challengeHash(), claim.enroleeId(), claim.restoreCommand(), claim.claimedAt(),
                    claim.reservation());
            return null;
        }, false);
    }

    /** Attempt {@code attempt} after 1, 2, 4 … s, at most a minute apart, for as long as the gateway runs. */
    private void retryRelease(Claim claim, int attempt) {
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
}
