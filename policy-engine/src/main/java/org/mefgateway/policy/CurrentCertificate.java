package org.mefgateway.policy;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;

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

    /** Reads subject, subjectAltName, key and notAfter from a certificate's DER. */
    public static CurrentCertificate of(byte[] certificateDer) {
        try {
            X509CertificateHolder holder = new X509CertificateHolder(certificateDer);
            GeneralNames names = GeneralNames.fromExtensions(holder.getExtensions(), Extension.subjectAlternativeName);
            List<SubjectAltName> sans = new ArrayList<>();
            if (names != null) {
                for (GeneralName name : names.getNames()) {
                    sans.add(CsrParser.subjectAltName(name));
                }
            }
            X500Name subject = X500Name.getInstance(BCStyle.INSTANCE, holder.getSubject());
            return new CurrentCertificate(subject.getRDNs().length == 0 ? "" : subject.toString(), sans,
                    holder.getSubjectPublicKeyInfo().getEncoded(ASN1Encoding.DER), holder.getNotAfter().toInstant());
        } catch (IOException | MalformedCsrException e) {
            throw new IllegalArgumentException("not a readable certificate: " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] subjectPublicKeyInfo() {
        return subjectPublicKeyInfo.clone();
    }
}
