package org.mefgateway.gateway.scep;

import java.util.Optional;

/** The SCEP messageType values (RFC 8894 3.2.1.2), as the PrintableString decimal they are sent as. */
enum MessageType {
    CERT_REP("3"), RENEWAL_REQ("17"), PKCS_REQ("19"), CERT_POLL("20"), GET_CERT("21"), GET_CRL("22");

    private final String value;

    MessageType(String value) {
        this.value = value;
    }

    String value() {
        return value;
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
