package org.mefgateway.gateway.store;

import java.util.Locale;

/**
 * RFC 5280 5.3.1 CRLReason codes an operator may give. certificateHold (6) and removeFromCRL (8)
 * are left out on purpose: a revocation here is final, never suspended or undone.
 */
public enum RevocationReason {
    UNSPECIFIED(0), KEY_COMPROMISE(1), CA_COMPROMISE(2), AFFILIATION_CHANGED(3), SUPERSEDED(4),
    CESSATION_OF_OPERATION(5), PRIVILEGE_WITHDRAWN(9), AA_COMPROMISE(10);

    private final int code;

    RevocationReason(int code) {
        this.code = code;
    }

    /** The CRLReason value that goes into CRL entries and OCSP responses. */
    public int code() {
        return code;
    }

    public static RevocationReason fromCode(int code) {
        for (RevocationReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        throw new IllegalArgumentException("no revocation reason with code " + code);
    }

    /** Accepts the RFC name (keyCompromise), the enum name (KEY_COMPROMISE) or kebab case (key-compromise). */
    public static RevocationReason parse(String text) {
        String key = text.strip().replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
        for (RevocationReason r : values()) {
            if (r.name().replace("_", "").toLowerCase(Locale.ROOT).equals(key)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown revocation reason '" + text + "': use one of unspecified, keyCompromise, "
                + "cACompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, aACompromise");
    }

    /** The RFC 5280 spelling, as operators read it. */
    public String rfcName() {
        String[] words = name().toLowerCase(Locale.ROOT).split("_");
        StringBuilder s = new StringBuilder(words[0].equals("ca") || words[0].equals("aa")
                ? words[0].charAt(0) + words[0].substring(1).toUpperCase(Locale.ROOT) : words[0]);
        for (int i = 1; i < words.length; i++) {
            s.append(Character.toUpperCase(words[i].charAt(0))).append(words[i].substring(1));
        }
        return s.toString();
    }
}
