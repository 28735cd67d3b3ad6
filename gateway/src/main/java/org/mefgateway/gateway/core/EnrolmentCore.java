package org.mefgateway.gateway.core;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import java.util.Map;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.store.Store;

/**
 * The MEF acting as Registration Authority, for every protocol edge: it knows the registered
 * Enrolees ({@link EnroleeAuthenticator}), hands out challenges ({@link ChallengeIssuer}), takes
 * each CSR through policy to the CA ({@link IssuancePipeline}) and keeps the requests held for an
 * operator ({@link ApprovalQueue}). It knows no protocol: the edges map its {@link Outcome}s and
 * {@link ErrorCode}s to their own answers.
 *
 * <p>Blocking work runs on dedicated worker pools (CSR parsing, policy and TBSCertificate building
 * on {@code cpu}, JDBC on {@code store}); signing runs on the HSM signer's own pool. Nothing here
 * blocks an event loop or computes on one ({@link EnrolmentSteps}).
 */
public record EnrolmentCore(Profiles profiles, EnroleeAuthenticator authenticator, ChallengeIssuer challenges,
                            IssuancePipeline pipeline, ApprovalQueue approvals, EnrolmentSteps steps) {

    public static EnrolmentCore create(Vertx vertx, Store store, PolicyDirectory policies, Map<String, CertificateAuthority> cas,
                                       WorkerExecutor storeWorkers, WorkerExecutor cpuWorkers, MeterRegistry meters, Clock clock) {
        EnrolmentSteps steps = new EnrolmentSteps();
        Refusals refusals = new Refusals(store, meters, clock);
        Profiles profiles = new Profiles(policies, cas, refusals);
        CommandResults commands = new CommandResults(store, refusals, storeWorkers);
        IssuanceClaims claims = new IssuanceClaims(vertx, store, refusals, commands, storeWorkers, meters);
        CertificateIssuer issuer = new CertificateIssuer(store, cpuWorkers, steps, meters, clock);
        ApprovalQueue approvals = new ApprovalQueue(store, profiles, refusals, claims, issuer, storeWorkers, cpuWorkers, steps, clock);
        return new EnrolmentCore(profiles,
                new EnroleeAuthenticator(store, profiles, storeWorkers, steps, clock),
                new ChallengeIssuer(store, profiles, commands, storeWorkers, meters, clock),
                new IssuancePipeline(store, profiles, refusals, commands, claims, issuer, approvals,
                        new Repeats(store, profiles, refusals, meters, clock), storeWorkers, cpuWorkers, steps, clock),
                approvals, steps);
    }
}
