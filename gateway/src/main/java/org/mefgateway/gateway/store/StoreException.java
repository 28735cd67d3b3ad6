package org.mefgateway.gateway.store;

/** The store could not do what was asked; nothing was changed. */
public class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    public StoreException(String message) {
        super(message);
    }
}
