package org.mefgateway.gateway.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.TBSCertificate;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.asn1.x509.V3TBSCertificateGenerator;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.SubjectAltName;

/**
 * Turns a policy-approved {@link CertificateTemplate} into a certificate signed by the CA key on
 * the HSM (TS-0003 steps 10-11). The TBSCertificate is built here and handed to the pooled signer
 * as one buffer, so the HSM sees a single signing operation per certificate.
 */
public final class CertificateAuthority {
    private final CaSigner signer;
    private final X509Certificate caCertificate;
    private final X500Name issuer;
    private final AuthorityKeyIdentifier authorityKeyId;

    public CertificateAuthority(CaSigner signer) {
        this.signer = signer;
        this.caCertificate = signer.certificate();
        this.issuer = X500Name.getInstance(caCertificate.getSubjectX500Principal().getEncoded());
        this.authorityKeyId = new AuthorityKeyIdentifier(keyIdentifier(
                SubjectPublicKeyInfo.getInstance(caCertificate.getPublicKey().getEncoded())));
    }

    public X509Certificate caCertificate() {
        return caCertificate;
    }

    /** The CA certificate and its issuers (RFC 7030 4.1.3: what cacerts returns). */
    public List<X509Certificate> chain() {
        return signer.chain();
    }

    /** Signs the certificate on the HSM; completes with its DER encoding. */
    public CompletionStage<byte[]> issue(CertificateTemplate template, BigInteger serial) {
        TBSCertificate tbs = tbs(template, serial);
        byte[] tbsDer;
        try {
            tbsDer = tbs.getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("TBSCertificate cannot be encoded", e);
        }
        return signer.sign(tbsDer).thenApply(signature -> {
            ASN1EncodableVector v = new ASN1EncodableVector();
            v.add(tbs);
            v.add(signer.algorithm());
            v.add(new DERBitString(signature));
            try {
                return Certificate.getInstance(new DERSequence(v)).getEncoded(ASN1Encoding.DER);
            } catch (IOException e) {
                throw new IllegalStateException("certificate cannot be encoded", e);
            }
        });
    }

    private TBSCertificate tbs(CertificateTemplate template, BigInteger serial) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(template.subjectPublicKeyInfo());
        V3TBSCertificateGenerator gen = new V3TBSCertificateGenerator();
        gen.setSerialNumber(new ASN1Integer(serial));
        gen.setSignature(signer.algorithm());
        gen.setIssuer(issuer);
        gen.setStartDate(new Time(Date.from(template.notBefore())));
        gen.setEndDate(new Time(Date.from(template.notAfter())));
        gen.setSubject(new X500Name(template.subject()));
        gen.setSubjectPublicKeyInfo(spki);
        gen.setExtensions(extensions(template, spki));
        return gen.generateTBSCertificate();
    }

    private org.bouncycastle.asn1.x509.Extensions extensions(CertificateTemplate template, SubjectPublicKeyInfo spki) {
        try {
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            if (template.keyUsageDigitalSignature()) {
                ext.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            }
            if (!template.extendedKeyUsages().isEmpty()) {
                List<KeyPurposeId> purposes = new ArrayList<>();
                for (String oid : template.extendedKeyUsages()) {
                    purposes.add(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(oid)));
                }
                ext.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes.toArray(KeyPurposeId[]::new)));
            }
            if (!template.subjectAltNames().isEmpty()) {
                GeneralName[] names = template.subjectAltNames().stream().map(CertificateAuthority::generalName).toArray(GeneralName[]::new);
                // RFC 5280 4.2.1.6: critical when the subject is empty, otherwise not.
                boolean critical = new X500Name(template.subject()).getRDNs().length == 0;
                ext.addExtension(Extension.subjectAlternativeName, critical, new GeneralNames(names));
            }
            ext.addExtension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki)));
            ext.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId);
            if (!template.crlDistributionPoints().isEmpty()) {
                DistributionPoint[] points = template.crlDistributionPoints().stream()
                        .map(url -> new DistributionPoint(new DistributionPointName(new GeneralNames(
                                new GeneralName(GeneralName.uniformResourceIdentifier, url))), null, null))
                        .toArray(DistributionPoint[]::new);
                ext.addExtension(Extension.cRLDistributionPoints, false, new CRLDistPoint(points));
            }
            List<AccessDescription> access = new ArrayList<>();
            template.ocspUrls().forEach(url -> access.add(new AccessDescription(AccessDescription.id_ad_ocsp,
                    new GeneralName(GeneralName.uniformResourceIdentifier, url))));
            template.caIssuersUrls().forEach(url -> access.add(new AccessDescription(AccessDescription.id_ad_caIssuers,
                    new GeneralName(GeneralName.uniformResourceIdentifier, url))));
            if (!access.isEmpty()) {
                ext.addExtension(Extension.authorityInfoAccess, false,
                        new AuthorityInformationAccess(access.toArray(AccessDescription[]::new)));
            }
            // Verbatim copies of what the profile lists (policy refused any the CA writes itself).
            for (CsrFacts.RequestedExtension copied : template.copiedExtensions()) {
                ext.addExtension(new ASN1ObjectIdentifier(copied.oid()), copied.critical(), copied.value());
            }
            return ext.generate();
        } catch (IOException e) {
            throw new IllegalStateException("extensions cannot be encoded", e);
        }
    }

    /** The GeneralName for a subjectAltName entry; OTHER never reaches a certificate. */
    public static GeneralName generalName(SubjectAltName san) {
        return switch (san.kind()) {
            case DNS -> new GeneralName(GeneralName.dNSName, san.value());
            case URI -> new GeneralName(GeneralName.uniformResourceIdentifier, san.value());
            case EMAIL -> new GeneralName(GeneralName.rfc822Name, san.value());
            case IP -> new GeneralName(GeneralName.iPAddress, san.value());
            case OTHER -> throw new IllegalArgumentException("policy never issues an OTHER subjectAltName: " + san);
        };
    }

    /** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING. */
    private static byte[] keyIdentifier(SubjectPublicKeyInfo spki) {
        try {
            return MessageDigest.getInstance("SHA-1").digest(spki.getPublicKeyData().getBytes());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is always available", e);
        }
    }
}
