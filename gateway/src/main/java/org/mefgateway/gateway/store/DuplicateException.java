package org.mefgateway.gateway.store;

/** An insert would break a uniqueness rule (same Enrolee id, bootstrap certificate or serial). */
public final class DuplicateException extends StoreException {
    public DuplicateException(String message) {
        super(message);
    }
}
