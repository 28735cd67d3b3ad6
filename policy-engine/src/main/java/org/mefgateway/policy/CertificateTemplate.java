package org.mefgateway.policy;

import java.time.Instant;
import java.util.List;

/**
 * Everything the CA puts into an end-entity certificate, decided by policy. The CA adds only
 * what is not a policy question: serial number, issuer, SKI/AKI and the signature.
 *
 * @param subject               RFC 4514 subject DN
 * @param subjectAltNames       subjectAltName entries
 * @param extendedKeyUsages     EKU OIDs; empty means no EKU extension
 * @param keyUsageDigitalSignature keyUsage digitalSignature (TS-0003 10.1 requires it)
 * @param notBefore             start of validity
 * @param notAfter              end of validity
 * @param subjectPublicKeyInfo  DER of the subject public key
 */
public record CertificateTemplate(
        String subject,
        List<SubjectAltName> subjectAltNames,
        List<String> extendedKeyUsages,
        boolean keyUsageDigitalSignature,
        Instant notBefore,
        Instant notAfter,
        byte[] subjectPublicKeyInfo) {
    public CertificateTemplate {
        subjectAltNames = List.copyOf(subjectAltNames);
        extendedKeyUsages = List.copyOf(extendedKeyUsages);
        subjectPublicKeyInfo = subjectPublicKeyInfo.clone();
    }

    @Override
    public byte[] subjectPublicKeyInfo() {
        return subjectPublicKeyInfo.clone();
    }
}
