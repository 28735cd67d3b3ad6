package org.mefgateway.gateway.store;

import java.time.Instant;

/** A signed CRL as the store keeps it; the newest (highest number) is the one published. */
public record StoredCrl(long number, Instant thisUpdate, Instant nextUpdate, byte[] der) {
}
