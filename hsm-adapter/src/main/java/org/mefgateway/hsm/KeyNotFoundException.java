package org.mefgateway.hsm;

/**
 * The configured CA key cannot be found: the PKCS#11 library lists no token of the configured
 * label, or the token has no key of the configured label. Either the configuration is wrong, or the
 * module has lost its view of the token (SoftHSM, whose token store vanished and came back, stays
 * that way until the module is initialised again: see {@link Pkcs11Module}).
 */
public final class KeyNotFoundException extends HsmException {
    public KeyNotFoundException(String message) {
        super(message);
    }
}
