package org.mefgateway.gateway.store;

import java.time.Instant;

/** One row of the issued-certificate ledger. */
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
        byte[] der) {
}
