package org.mefgateway.gateway.store;

import java.time.Instant;
import java.util.Optional;

/** Which ledger entries an operator lists or exports; empty fields do not filter. */
public record CertificateFilter(Optional<String> enroleeId, Optional<IssuedCertificate.Status> status, Optional<Instant> expiresBefore) {
    public static final CertificateFilter ALL = new CertificateFilter(Optional.empty(), Optional.empty(), Optional.empty());
}
