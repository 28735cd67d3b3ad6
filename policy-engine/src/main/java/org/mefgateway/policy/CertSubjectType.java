package org.mefgateway.policy;

/**
 * The kind of identity a certificate is provisioned for: {@code certSubjectType} of the MEF Client
 * Command (TS-0003 8.3.9.7). The oneM2M certificate profile (TS-0003 10.1) fixes the
 * subjectAltName form each kind of identity takes.
 */
public enum CertSubjectType {
    NODE_ID(1, SubjectAltName.Kind.URI),
    CSE_ID(2, SubjectAltName.Kind.DNS),
    AE_ID(3, SubjectAltName.Kind.URI);

    private final int code;
    private final SubjectAltName.Kind sanKind;

    CertSubjectType(int code, SubjectAltName.Kind sanKind) {
        this.code = code;
        this.sanKind = sanKind;
    }

    /** The numeric value used in the MEF Client Command. */
    public int code() {
        return code;
    }

    /** The GeneralName form in which this identity appears in subjectAltName. */
    public SubjectAltName.Kind sanKind() {
        return sanKind;
    }

    /** The subjectAltName entry an Enrolee with this identity must request. */
    public SubjectAltName san(String certSubjectId) {
        return new SubjectAltName(sanKind, certSubjectId);
    }

    public static CertSubjectType fromCode(int code) {
        for (CertSubjectType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("certSubjectType must be 1 (Node-ID), 2 (CSE-ID) or 3 (AE-ID), not " + code);
    }

    /** Accepts the enum name, the short form (AE-ID, CSE-ID, Node-ID) or the numeric code. */
    public static CertSubjectType parse(String text) {
        String t = text.trim();
        if (t.matches("\\d+")) {
            return fromCode(Integer.parseInt(t));
        }
        String normalised = t.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        for (CertSubjectType type : values()) {
            if (type.name().equals(normalised)) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown certSubjectType '" + text + "': use AE-ID, CSE-ID or Node-ID");
    }
}
