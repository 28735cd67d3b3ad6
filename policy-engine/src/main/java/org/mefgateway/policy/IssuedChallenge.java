package org.mefgateway.policy;

import java.time.Instant;
import java.util.Objects;

/**
 * A challengePassword the MEF handed out (TS-0003 step 5), as the store knows it when a CSR
 * presents it.
 *
 * @param enroleeId  the Enrolee it was issued to
 * @param expiresAt  the instant after which it is refused
 * @param used       whether a CSR already consumed it
 */
public record IssuedChallenge(String enroleeId, Instant expiresAt, boolean used) {
    public IssuedChallenge {
        Objects.requireNonNull(enroleeId, "enroleeId");
        Objects.requireNonNull(expiresAt, "expiresAt");
    }
}
