package org.mefgateway.policy;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Everything the CA puts into an end-entity certificate, decided by policy. The CA adds only
 * what is not a policy question: serial number, issuer, basicConstraints cA=FALSE, SKI/AKI and
 * the signature.
 *
 * @param subject                  RFC 4514 subject DN; "" for an empty subject (subjectAltName is then critical)
 * @param subjectAltNames          subjectAltName entries
 * @param extendedKeyUsages        EKU OIDs; empty means no EKU extension
 * @param keyUsageDigitalSignature keyUsage digitalSignature (TS-0003 10.1 requires it)
 * @param notBefore                start of validity
 * @param notAfter                 end of validity
 * @param subjectPublicKeyInfo     DER of the subject public key
 * @param copiedExtensions         extensions copied verbatim from the CSR (profile extensions.copy)
 * @param crlDistributionPoints    cRLDistributionPoints URLs; empty = no extension
 * @param ocspUrls                 authorityInfoAccess OCSP URLs
 * @param caIssuersUrls            authorityInfoAccess caIssuers URLs
 */
public record CertificateTemplate(
        String subject,
        List<SubjectAltName> subjectAltNames,
        List<String> extendedKeyUsages,
        boolean keyUsageDigitalSignature,
        Instant notBefore,
        Instant notAfter,
        byte[] subjectPublicKeyInfo,
        List<CsrFacts.RequestedExtension> copiedExtensions,
        List<String> crlDistributionPoints,
        List<String> ocspUrls,
        List<String> caIssuersUrls) {
    public CertificateTemplate {
        Objects.requireNonNull(subject, "subject");
        subjectAltNames = List.copyOf(subjectAltNames);
        extendedKeyUsages = List.copyOf(extendedKeyUsages);
        subjectPublicKeyInfo = subjectPublicKeyInfo.clone();
        copiedExtensions = List.copyOf(copiedExtensions);
        crlDistributionPoints = List.copyOf(crlDistributionPoints);
        ocspUrls = List.copyOf(ocspUrls);
        caIssuersUrls = List.copyOf(caIssuersUrls);
    }

    @Override
    public byte[] subjectPublicKeyInfo() {
        return subjectPublicKeyInfo.clone();
    }
}
