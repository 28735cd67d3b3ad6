package org.mefgateway.hsm;

/**
 * The token holding the CA key is out of service (its circuit is open while it is re-initialised):
 * nothing was signed, and trying again immediately will fail the same way.
 */
public final class HsmUnavailableException extends HsmException {
    public HsmUnavailableException(String message) {
        super(message);
    }
}
