package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.util.List;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;

class CsrTest {
    private static final String AE_ID = "//m2m.example.com/CSE3219/C9886";
    private static final KeyPurposeId SUID_EKU = KeyPurposeId.getInstance(new ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1.45"));

    @Test
    void carriesSubjectSanEkuAndChallengeAndIsSignedWithTheKey() throws Exception {
        KeyPair keyPair = Csr.generateKeyPair();
        GeneralNames san = CertSubjectType.AE_ID.subjectAltName(AE_ID);
        Extension sanExtension = Extension.create(Extension.subjectAlternativeName, false, san);
        Extension ekuExtension = Extension.create(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth, SUID_EKU}));

        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(
                Csr.build(keyPair, AE_ID, "Challenge-123", sanExtension, ekuExtension));

        assertTrue(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(keyPair.getPublic())));
        assertArrayEquals(keyPair.getPublic().getEncoded(), csr.getSubjectPublicKeyInfo().getEncoded());
        assertEquals("1.2.840.10045.4.3.2", csr.getSignatureAlgorithm().getAlgorithm().getId());
        X500Name subject = csr.getSubject();
        assertEquals(AE_ID, subject.getRDNs(BCStyle.CN)[0].getFirst().getValue().toString());
        assertEquals(1, subject.getRDNs().length);

        ASN1Encodable challenge = single(csr, PKCSObjectIdentifiers.pkcs_9_at_challengePassword);
        assertEquals(new DERPrintableString("Challenge-123"), challenge);

        Extensions requested = Extensions.getInstance(single(csr, PKCSObjectIdentifiers.pkcs_9_at_extensionRequest));
        assertEquals(san, GeneralNames.fromExtensions(requested, Extension.subjectAlternativeName));
        assertEquals(List.of(KeyPurposeId.id_kp_clientAuth, SUID_EKU),
                List.of(ExtendedKeyUsage.fromExtensions(requested).getUsages()));
        assertEquals(2, requested.getExtensionOIDs().length);
    }

    @Test
    void usesUtf8StringForAChallengeThatIsNotPrintable() throws Exception {
        KeyPair keyPair = Csr.generateKeyPair();
        Extension san = Extension.create(Extension.subjectAlternativeName, false,
                CertSubjectType.CSE_ID.subjectAltName("cse.example.com"));

        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(Csr.build(keyPair, "cse", "défi_*", san, null));

        assertEquals(new DERUTF8String("défi_*"), single(csr, PKCSObjectIdentifiers.pkcs_9_at_challengePassword));
        Extensions requested = Extensions.getInstance(single(csr, PKCSObjectIdentifiers.pkcs_9_at_extensionRequest));
        assertEquals(1, requested.getExtensionOIDs().length);
    }

    private static ASN1Encodable single(PKCS10CertificationRequest csr, ASN1ObjectIdentifier type) {
        Attribute[] attributes = csr.getAttributes(type);
        assertEquals(1, attributes.length);
        assertEquals(1, attributes[0].getAttrValues().size());
        return attributes[0].getAttrValues().getObjectAt(0);
    }
}
