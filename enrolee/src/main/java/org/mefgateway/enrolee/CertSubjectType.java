package org.mefgateway.enrolee;

import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;

/**
 * The kind of identity a certificate is for (TS-0003 8.3.9.7 {@code certSubjectType}) and where
 * the oneM2M certificate profile (TS-0003 10.1) puts it: in subjectAltName, never only in the CN.
 */
public enum CertSubjectType {
    /** Node-ID, e.g. {@code urn:gsma:imei:...}: SAN uniformResourceIdentifier. */
    NODE_ID(1, "Node-ID", GeneralName.uniformResourceIdentifier),
    /** CSE-ID: SAN dNSName. */
    CSE_ID(2, "CSE-ID", GeneralName.dNSName),
    /** Absolute AE-ID, e.g. {@code //m2m.example.com/CSE3219/C9886}: SAN uniformResourceIdentifier. */
    AE_ID(3, "AE-ID", GeneralName.uniformResourceIdentifier);

    private final int code;
    private final String label;
    private final int generalNameTag;

    CertSubjectType(int code, String label, int generalNameTag) {
        this.code = code;
        this.label = label;
        this.generalNameTag = generalNameTag;
    }

    /** @throws IllegalArgumentException if the code is not 1, 2 or 3 */
    public static CertSubjectType fromCode(long code) {
        for (CertSubjectType type : values()) {
            if (type.code == code) {
                return type;
            }
        }
        throw new IllegalArgumentException(
                "certSubjectType " + code + " is not 1 (Node-ID), 2 (CSE-ID) or 3 (AE-ID)");
    }

    public int code() {
        return code;
    }

    /** The TS-0003 name of the identity type, e.g. "AE-ID". */
    public String label() {
        return label;
    }

    /**
     * The subjectAltName that carries {@code certSubjectID} for this type.
     *
     * @throws IllegalArgumentException if the identifier is not ASCII (URI and dNSName are IA5String)
     */
    public GeneralNames subjectAltName(String certSubjectID) {
        if (!ASN1IA5String.isIA5String(certSubjectID)) {
            throw new IllegalArgumentException(label + " \"" + certSubjectID + "\" is not ASCII");
        }
        return new GeneralNames(new GeneralName(generalNameTag, certSubjectID));
    }
}
