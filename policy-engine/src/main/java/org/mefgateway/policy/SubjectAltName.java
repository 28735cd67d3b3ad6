package org.mefgateway.policy;

import java.util.Objects;

/** One GeneralName of a subjectAltName extension, reduced to its kind and its text. */
public record SubjectAltName(Kind kind, String value) {

    /** GeneralName choices (RFC 5280 4.2.1.6). OTHER stands for every choice the MEF never issues. */
    public enum Kind { DNS, URI, EMAIL, IP, OTHER }

    public SubjectAltName {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
    }

    @Override
    public String toString() {
        return kind + ":" + value;
    }
}
