package org.mefgateway.gateway.scep;

/**
 * A request that is a well-formed, signed SCEP message but is not served: answered with a CertRep
 * FAILURE carrying {@link #failInfo} (RFC 8894 3.3.2.2), not with an HTTP error.
 */
final class ScepFailure extends RuntimeException {
    private final FailInfo failInfo;

    ScepFailure(FailInfo failInfo, String reason) {
        super(reason, null, false, false);
        this.failInfo = failInfo;
    }

    FailInfo failInfo() {
        return failInfo;
    }
}
