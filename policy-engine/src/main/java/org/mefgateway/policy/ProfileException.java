package org.mefgateway.policy;

/** A profile file that cannot be used; the message names the file, the line and the field. */
public final class ProfileException extends Exception {
    public ProfileException(String message) {
        super(message);
    }
}
