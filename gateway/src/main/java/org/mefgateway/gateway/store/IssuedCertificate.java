package org.mefgateway.gateway.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of the issued-certificate ledger.
 *
 * @param requestKey what the request asked for (see {@code RequestKey}): a repeat of it within the
 *                   profile's redelivery window gets this certificate again; empty for certificates of
 *                   server-generated keys and for rows written before it was recorded
 */
public record IssuedCertificate(
        String serialHex,
        String enroleeId,
        String profile,
        String subject,
        String subjectAltNames,
        Instant notBefore,
        Instant notAfter,
        String status,
        Instant issuedAt,
        byte[] der,
        Optional<String> requestKey) {
}
