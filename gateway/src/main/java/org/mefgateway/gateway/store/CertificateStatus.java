package org.mefgateway.gateway.store;

/**
 * What the ledger says about a serial number: issued and not revoked, revoked, or never issued by
 * this CA. Expiry is not a status here: relying parties compare notAfter themselves.
 */
public sealed interface CertificateStatus {
    record Good() implements CertificateStatus {
    }

    record Revoked(Revocation revocation) implements CertificateStatus {
    }

    record Unknown() implements CertificateStatus {
    }
}
