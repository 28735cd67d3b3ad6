package org.mefgateway.hsm;

/**
 * The HSM could not do what was asked. Messages name the token and the operation, never a PIN.
 */
public class HsmException extends Exception {
    public HsmException(String message) {
        super(message);
    }

    public HsmException(String message, Throwable cause) {
        super(message, cause);
    }
}
