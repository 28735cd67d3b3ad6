package org.mefgateway.gateway.scep;

/** Why a CertRep is a FAILURE (RFC 8894 3.2.1.4.5), with the decimal value it is sent as and its name there. */
enum FailInfo {
    /** Unrecognized or unsupported algorithm. */
    BAD_ALG("0", "badAlg"),
    /** Integrity check (the signature, or the envelope's decryption) failed. */
    BAD_MESSAGE_CHECK("1", "badMessageCheck"),
    /** Transaction not permitted or supported. */
    BAD_REQUEST("2", "badRequest"),
    /** The signingTime attribute was not sufficiently close to the system time. */
    BAD_TIME("3", "badTime"),
    /** No certificate could be identified matching the provided criteria. */
    BAD_CERT_ID("4", "badCertId");

    private final String value;
    private final String rfcName;

    FailInfo(String value, String rfcName) {
        this.value = value;
        this.rfcName = rfcName;
    }

    String value() {
        return value;
    }

    /** The name RFC 8894 3.2.1.4.5 gives it, as metrics and logs show it. */
    String rfcName() {
        return rfcName;
    }
}
