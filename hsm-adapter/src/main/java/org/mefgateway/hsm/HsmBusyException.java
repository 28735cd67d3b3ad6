package org.mefgateway.hsm;

/** Every signer is busy and the waiting queue is full: try again shortly. */
public final class HsmBusyException extends HsmException {
    public HsmBusyException(String message) {
        super(message);
    }
}
