package org.mefgateway.gateway.core;

import io.vertx.core.WorkerExecutor;
import java.util.Optional;
import org.mefgateway.gateway.store.HeldRequest;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MEF Client Command of an Enrolee (TS-0003 8.3.9.7) as enrolment sees it: an Enrolee enrols
 * when the MEF instructed it to (a pending CERT_PROV command), what spent the command when none is
 * pending, and the result code of the last one.
 */
final class CommandResults {
    private static final Logger LOG = LoggerFactory.getLogger(CommandResults.class);

    private final Store store;
    private final Refusals refusals;
    private final WorkerExecutor storeWorkers;

    CommandResults(Store store, Refusals refusals, WorkerExecutor storeWorkers) {
        this.store = store;
        this.refusals = refusals;
        this.storeWorkers = storeWorkers;
    }

    /**
     * Once its certificate is issued the command is NO_MORE_COMMANDS, and its bootstrap certificate
     * gets no second certificate until the operator instructs it again. {@code why} says what
     * spent the command.
     */
    OperationException noPendingCommand(StoredEnrolee enrolee, PolicyEngine policy, String why) {
        return refusals.refuse(enrolee, policy, "enrolee.no-pending-command", "no CERT_PROV command is pending for Enrolee "
                + enrolee.enrolee().id() + ": " + why);
    }

    /** What spent the Enrolee's last instruction: a request waiting for approval, one an operator rejected, or an issuance. Blocking (store). */
    String whyNoCommand(StoredEnrolee enrolee) {
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

    /**
     * TS-0003 8.3.9.7 result codes of a first enrolment: whose side the failure was on. A held
     * request has no result yet; a refusal is the client's, anything else the server's. OK is
     * written with the certificate, in the transaction that records it ({@link CertificateIssuer}):
     * an issued request costs no statement after its answer, and a repeat answered with that
     * certificate changes nothing.
     */
    void record(StoredEnrolee enrolee, Outcome outcome) {
        if (outcome instanceof Outcome.Refused) {
            record(enrolee, StoredEnrolee.CommandResult.CERT_PROV_CLIENT_ERROR);
        } else if (outcome instanceof Outcome.Unavailable) {
            record(enrolee, StoredEnrolee.CommandResult.CERT_PROV_SERVER_ERROR);
        }
    }

    /** A failure that is no outcome (an internal error) is the server's. */
    void recordServerError(StoredEnrolee enrolee) {
        record(enrolee, StoredEnrolee.CommandResult.CERT_PROV_SERVER_ERROR);
    }

    private void record(StoredEnrolee enrolee, StoredEnrolee.CommandResult result) {
        storeWorkers.executeBlocking(() -> {
            store.recordCommandResult(enrolee.enrolee().id(), result);
            return null;
        }, false).onFailure(e -> LOG.warn("could not record the command result of enrolee={}: {}", enrolee.enrolee().id(),
                e.toString()));
    }
}
