package org.mefgateway.policy;

/**
 * The request body is not a usable PKCS#10 request. The message is written for the client
 * (the gateway answers it with 400): it says what is wrong, never echoes raw bytes, and never
 * carries a library's internal message.
 */
public final class MalformedCsrException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedCsrException(String reason) {
        super(reason);
    }
}
