package org.mefgateway.policy;

import java.util.Objects;
import java.util.Set;

/**
 * An Enrolee as the operator registered it: the MEF's instruction to enrol (TS-0003 8.3.9.7).
 *
 * @param id             operator-chosen identifier of the Enrolee
 * @param type           certSubjectType
 * @param certSubjectId  certSubjectID, the identity the certificate must carry in subjectAltName
 * @param suids          Security Usage Identifiers (TS-0004 m2m:suid, 40..45) it is entitled to
 */
public record RegisteredEnrolee(String id, CertSubjectType type, String certSubjectId, Set<Integer> suids) {
    public RegisteredEnrolee {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(certSubjectId, "certSubjectId");
        suids = Set.copyOf(suids);
    }

    /** The one subjectAltName entry this Enrolee's certificate must carry. */
    public SubjectAltName identity() {
        return type.san(certSubjectId);
    }
}
