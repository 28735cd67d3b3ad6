package org.mefgateway.gateway.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of the issued-certificate ledger.
 *
 * @param requestKey what the request asked for (see {@code RequestKey}): a repeat of it within the
 *                   profile's redelivery window gets this certificate again; empty for certificates of
 *                   server-generated keys and for rows written before it was recorded
 * @param status     the ledger's column; {@link CertificateStatus} is what the ledger says about any serial,
 *                   with the revocation's date and reason, for OCSP and re-enrolment
 */
public record IssuedCertificate(
        String serialHex,
        String enroleeId,
        String profile,
        String subject,
        String subjectAltNames,
        Instant notBefore,
        Instant notAfter,
        Status status,
        Instant issuedAt,
        byte[] der,
        Optional<String> requestKey) {

    /** A row's status, stored by its name: a revocation is final. */
    public enum Status { ISSUED, REVOKED }
}
