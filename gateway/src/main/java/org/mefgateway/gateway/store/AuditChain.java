package org.mefgateway.gateway.store;

import java.util.Optional;

/**
 * Checks the audit log, event by event in sequence order: numbers contiguous from 1, each event's
 * prevHash the previous event's hash, each hash recomputed from the event's fields. Stops at the
 * first broken link. Removing events from the end leaves a valid (shorter) chain: compare
 * {@link Verification#headHash} with one recorded elsewhere to detect that.
 */
public final class AuditChain {
    private long expectedSeq = 1;
    private String previousHash = AuditEvent.GENESIS;
    private long verified;
    private Optional<BrokenLink> broken = Optional.empty();

    /** Where and why the chain breaks. */
    public record BrokenLink(long seq, String reason) {
    }

    /** The outcome: how many events verified, the head, and the first broken link if any. */
    public record Verification(long events, String headHash, Optional<BrokenLink> brokenLink) {
        public boolean intact() {
            return brokenLink.isEmpty();
        }
    }

    /** Feeds the next event; returns false once the chain is broken (later events are not looked at). */
    boolean accept(AuditEvent e) {
        if (broken.isPresent()) {
            return false;
        }
        if (e.seq() != expectedSeq) {
            broken = Optional.of(new BrokenLink(expectedSeq, "event " + expectedSeq + " is missing (next present is " + e.seq() + ")"));
        } else if (!e.prevHash().equals(previousHash)) {
            broken = Optional.of(new BrokenLink(e.seq(), "event " + e.seq() + " does not link to the hash of event " + (e.seq() - 1)));
        } else if (!e.hash().equals(e.expectedHash())) {
            broken = Optional.of(new BrokenLink(e.seq(), "event " + e.seq() + " was altered: its content does not match its hash"));
        } else {
            verified++;
            expectedSeq++;
            previousHash = e.hash();
            return true;
        }
        return false;
    }

    Verification result() {
        return new Verification(verified, previousHash, broken);
    }
}
