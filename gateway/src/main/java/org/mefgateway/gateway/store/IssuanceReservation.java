package org.mefgateway.gateway.store;

import java.time.Instant;

/**
 * A place under an Enrolee's issuance limit (profile rateLimit.maxIssuancesPerDay), taken by the
 * claim ({@link Store#beginIssuance}) with the Enrolee's row locked: refused when the certificates
 * issued to the Enrolee after {@code windowStart} and the places still held (claims being signed,
 * not yet recorded) already make {@code limit}. The certificate's record frees the place in the
 * same transaction ({@link Store#recordIssuance(IssuedCertificate, java.util.Optional)}: from then on
 * the certificate counts instead), and so does giving the claim back ({@link Store#abandonIssuance}).
 * A place nobody freed (the process died) counts only while it is younger than the window.
 *
 * @param id          random hex (32 characters): names the place to free
 * @param limit       at most this many issuances in the window, at least 1
 * @param windowStart certificates issued and places taken after this count
 */
public record IssuanceReservation(String id, int limit, Instant windowStart) {
    public IssuanceReservation {
        if (limit < 1) {
            throw new IllegalArgumentException("an issuance limit is at least 1, not " + limit);
        }
    }
}
