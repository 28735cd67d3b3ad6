package org.mefgateway.hsm;

/**
 * A token holds, under the configured label, a different key from the one the signer started with
 * (a swapped token, a mislabelled replica): it is never used for this CA key.
 */
public final class WrongKeyException extends HsmException {
    public WrongKeyException(String message) {
        super(message);
    }
}
