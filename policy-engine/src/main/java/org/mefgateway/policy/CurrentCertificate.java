package org.mefgateway.policy;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The certificate a re-enrolling Enrolee authenticated with (RFC 7030 4.2.2): the gateway has
 * already checked that it is valid, issued by this CA and not revoked; policy compares the CSR
 * with it.
 *
 * @param subject              RFC 4514 subject DN ("" for an empty subject)
 * @param subjectAltNames      its subjectAltName entries
 * @param subjectPublicKeyInfo DER of its public key
 * @param notAfter             end of its validity
 */
public record CurrentCertificate(String subject, List<SubjectAltName> subjectAltNames, byte[] subjectPublicKeyInfo,
                                 Instant notAfter) {
    public CurrentCertificate {
        Objects.requireNonNull(subject, "subject");
        subjectAltNames = List.copyOf(subjectAltNames);
        subjectPublicKeyInfo = subjectPublicKeyInfo.clone();
        Objects.requireNonNull(notAfter, "notAfter");
    }

    @Override
    public byte[] subjectPublicKeyInfo() {
        return subjectPublicKeyInfo.clone();
    }
}
