package org.mefgateway.gateway.store;

import java.time.Instant;

/** A certificate the CA revoked: what goes into the CRL entry and the OCSP "revoked" answer. */
public record Revocation(String serialHex, RevocationReason reason, Instant revokedAt) {
}
