package org.mefgateway.gateway.scep;

import java.util.Optional;

/** The SCEP messageType values (RFC 8894 3.2.1.2), as the PrintableString decimal they are sent as, and their names there. */
enum MessageType {
    CERT_REP("3", "CertRep"), RENEWAL_REQ("17", "RenewalReq"), PKCS_REQ("19", "PKCSReq"), CERT_POLL("20", "CertPoll"),
    GET_CERT("21", "GetCert"), GET_CRL("22", "GetCRL");

    private final String value;
    private final String rfcName;

    MessageType(String value, String rfcName) {
        this.value = value;
        this.rfcName = rfcName;
    }

    String value() {
        return value;
    }

    /** The name RFC 8894 3.2.1.2 gives it, as metrics show it. */
    String rfcName() {
        return rfcName;
    }

    static Optional<MessageType> of(String value) {
        for (MessageType t : values()) {
            if (t.value.equals(value)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
