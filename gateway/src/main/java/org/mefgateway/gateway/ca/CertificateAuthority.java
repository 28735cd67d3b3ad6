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
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
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
    private final byte[] algorithmDer;

    public CertificateAuthority(CaSigner signer) {
        this.signer = signer;
        this.caCertificate = signer.certificate();
        this.issuer = X500Name.getInstance(caCertificate.getSubjectX500Principal().getEncoded());
        try {
            this.algorithmDer = signer.algorithm().getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("the signature algorithm cannot be encoded", e);
        }
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

    /** A TBSCertificate under its serial, DER-encoded and ready for the HSM. */
    public record ToBeSigned(BigInteger serial, byte[] der) {
    }

    /**
     * Builds and encodes the TBSCertificate: CPU work, done in the same worker step as the policy
     * decision (never on an event loop), so that signing on the HSM is all that is left.
     */
    public ToBeSigned prepare(CertificateTemplate template, BigInteger serial) {
        try {
            return new ToBeSigned(serial, tbs(template, serial).getEncoded(ASN1Encoding.DER));
        } catch (IOException e) {
            throw new IllegalStateException("TBSCertificate cannot be encoded", e);
        }
    }

    /** Signs the certificate on the HSM; completes with its DER encoding. */
    public CompletionStage<byte[]> sign(ToBeSigned tbs) {
        // The completion runs on the HSM worker: splice the encodings together instead of
        // re-encoding the whole certificate there, so the worker goes back to signing at once.
        return signer.sign(tbs.der()).thenApply(signature -> certificate(tbs.der(), algorithmDer, signature));
    }

    /** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } (RFC 5280 4.1). */
    static byte[] certificate(byte[] tbsDer, byte[] algorithmDer, byte[] signature) {
        byte[] bitString = new byte[signature.length + 1];  // leading 0: no unused bits
        System.arraycopy(signature, 0, bitString, 1, signature.length);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream(tbsDer.length + algorithmDer.length + bitString.length + 8);
        body.writeBytes(tbsDer);
        body.writeBytes(algorithmDer);
        body.write(0x03);
        writeLength(body, bitString.length);
        body.writeBytes(bitString);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(body.size() + 4);
        out.write(0x30);
        writeLength(out, body.size());
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    /** DER definite length (X.690 8.1.3). */
    private static void writeLength(java.io.ByteArrayOutputStream out, int length) {
        if (length < 0x80) {
            out.write(length);
            return;
        }
        int bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
        out.write(0x80 | bytes);
        for (int i = bytes - 1; i >= 0; i--) {
            out.write(length >>> (8 * i));
        }
    }

    /**
     * RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, to the second, in UTC.
     * Encoded directly: Bouncy Castle's Time(Date) formats with a new SimpleDateFormat on every
     * call, which measured as a third of the cost of building a TBSCertificate.
     */
    static Time time(java.time.Instant instant) {
        java.time.ZonedDateTime t = instant.atZone(java.time.ZoneOffset.UTC);
        boolean utc = t.getYear() >= 1950 && t.getYear() < 2050;
        String text = (utc ? UTC_TIME : GENERALIZED_TIME).format(t);
        byte[] ascii = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] der = new byte[ascii.length + 2];
        der[0] = (byte) (utc ? 0x17 : 0x18);
        der[1] = (byte) ascii.length;
        System.arraycopy(ascii, 0, der, 2, ascii.length);
        try {
            return Time.getInstance(org.bouncycastle.asn1.ASN1Primitive.fromByteArray(der));
        } catch (IOException e) {
            throw new IllegalStateException("a formatted time is always valid DER", e);
        }
    }

    private static final java.time.format.DateTimeFormatter UTC_TIME =
            java.time.format.DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");
    private static final java.time.format.DateTimeFormatter GENERALIZED_TIME =
            java.time.format.DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'");

    private TBSCertificate tbs(CertificateTemplate template, BigInteger serial) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(template.subjectPublicKeyInfo());
        V3TBSCertificateGenerator gen = new V3TBSCertificateGenerator();
        gen.setSerialNumber(new ASN1Integer(serial));
        gen.setSignature(signer.algorithm());
        gen.setIssuer(issuer);
        gen.setStartDate(time(template.notBefore()));
        gen.setEndDate(time(template.notAfter()));
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
