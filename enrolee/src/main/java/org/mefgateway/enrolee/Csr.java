package org.mefgateway.enrolee;

import java.io.IOException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.GeneralSecurityException;
import java.security.spec.ECGenParameterSpec;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The Enrolee's key pair and PKCS#10 request (TS-0003 steps 6-7), following the oneM2M certificate
 * profile (TS-0003 10.1): EC P-256 key, ECDSA with SHA-256, identity in subjectAltName.
 */
public final class Csr {
    /** The only signature algorithm the oneM2M profile uses. */
    public static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

    private Csr() {
    }

    /** A fresh EC P-256 (secp256r1) key pair from the JDK's default provider. */
    public static KeyPair generateKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK cannot generate EC P-256 keys", e);
        }
    }

    /**
     * Builds and signs the CSR.
     *
     * @param keyPair           the Enrolee's new key pair
     * @param certSubjectID     the identity, also put in the CN for readability (the SAN is authoritative)
     * @param challengePassword the MEF's challenge, returned as the PKCS#9 challengePassword attribute
     * @param subjectAltName    the subjectAltName extension to request
     * @param extendedKeyUsage  the extendedKeyUsage extension to request, or null for none
     * @return the DER of the signed PKCS#10 request
     */
    public static byte[] build(KeyPair keyPair, String certSubjectID, String challengePassword,
                               Extension subjectAltName, Extension extendedKeyUsage) {
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, certSubjectID).build();
        return build(keyPair, subject, challengePassword, subjectAltName, extendedKeyUsage);
    }

    /**
     * Builds and signs a CSR with a given subject, e.g. for re-enrolment (RFC 7030 4.2.2), where
     * subject and subjectAltName are copied from the current certificate: pass
     * {@code X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded())} and the
     * certificate's own subjectAltName extension so the DER stays byte-for-byte the same.
     */
    public static byte[] build(KeyPair keyPair, X500Name subject, String challengePassword,
                               Extension subjectAltName, Extension extendedKeyUsage) {
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(subjectAltName);
        if (extendedKeyUsage != null) {
            extensions.addExtension(extendedKeyUsage);
        }
        try {
            return new JcaPKCS10CertificationRequestBuilder(subject, keyPair.getPublic())
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, directoryString(challengePassword))
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
                    .build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(keyPair.getPrivate()))
                    .getEncoded();
        } catch (OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot sign the CSR with " + SIGNATURE_ALGORITHM, e);
        }
    }

    /** PKCS#9 challengePassword is a DirectoryString: PrintableString where it fits, else UTF8String. */
    private static ASN1Encodable directoryString(String value) {
        return DERPrintableString.isPrintableString(value) ? new DERPrintableString(value) : new DERUTF8String(value);
    }
}
