package org.mefgateway.gateway.scep;

/** Why a CertRep is a FAILURE (RFC 8894 3.2.1.4.5), with the decimal value it is sent as. */
enum FailInfo {
    /** Unrecognized or unsupported algorithm. */
    BAD_ALG("0"),
    /** Integrity check (the signature, or the envelope's decryption) failed. */
    BAD_MESSAGE_CHECK("1"),
    /** Transaction not permitted or supported. */
    BAD_REQUEST("2"),
    /** The signingTime attribute was not sufficiently close to the system time. */
    BAD_TIME("3"),
    /** No certificate could be identified matching the provided criteria. */
    BAD_CERT_ID("4");

    private final String value;

    FailInfo(String value) {
        this.value = value;
    }

    String value() {
        return value;
    }
}
