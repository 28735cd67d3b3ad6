package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.junit.jupiter.api.Test;

class CsrAttributesTest {
    private static final GeneralNames AE_ID =
            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, "//m2m.example.com/CSE3219/C9886"));
    private static final KeyPurposeId SUID_EKU = KeyPurposeId.getInstance(new ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1.45"));

    /** The csrattrs the MEF sends (DESIGN / wire contract): OID, key attribute, challenge, extensionRequest. */
    static byte[] mefCsrAttrs(ASN1Encodable challenge, GeneralNames san, KeyPurposeId... ekus) throws Exception {
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(Extension.subjectAlternativeName, false, san);
        if (ekus.length > 0) {
            extensions.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(ekus));
        }
        return new CsrAttrs(new AttrOrOID[] {
                new AttrOrOID(X9ObjectIdentifiers.ecdsa_with_SHA256),
                new AttrOrOID(new Attribute(X9ObjectIdentifiers.id_ecPublicKey, new DERSet(SECObjectIdentifiers.secp256r1))),
                new AttrOrOID(new Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERSet(challenge))),
                new AttrOrOID(new Attribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, new DERSet(extensions.generate()))),
        }).getEncoded("DER");
    }

    @Test
    void readsChallengeSanEkusAndKeyRequirements() throws Exception {
        CsrAttributes attributes = CsrAttributes.parse(
                mefCsrAttrs(new DERPrintableString("s3cret-Challenge"), AE_ID, KeyPurposeId.id_kp_clientAuth, SUID_EKU));

        assertEquals("s3cret-Challenge", attributes.challengePassword());
        assertEquals(AE_ID, attributes.subjectAltNames());
        assertEquals(List.of(KeyPurposeId.id_kp_clientAuth, SUID_EKU), attributes.extendedKeyUsages());
        assertEquals(SECObjectIdentifiers.secp256r1, attributes.ecCurve());
        assertEquals(List.of(X9ObjectIdentifiers.ecdsa_with_SHA256), attributes.oids());
    }

    @Test
    void acceptsAnyDirectoryStringForTheChallenge() throws Exception {
        CsrAttributes attributes = CsrAttributes.parse(mefCsrAttrs(new DERUTF8String("défi"), AE_ID));

        assertEquals("défi", attributes.challengePassword());
        assertTrue(attributes.extendedKeyUsages().isEmpty());
    }

    @Test
    void neverShowsTheChallengeInToString() throws Exception {
        CsrAttributes attributes = CsrAttributes.parse(mefCsrAttrs(new DERPrintableString("s3cret-Challenge"), AE_ID));

        assertFalse(attributes.toString().contains("s3cret"), attributes.toString());
        assertTrue(attributes.toString().contains("16 chars"), attributes.toString());
    }

    @Test
    void readsCsrAttrsWithOnlyOids() throws Exception {
        byte[] der = new CsrAttrs(new AttrOrOID[] {
                new AttrOrOID(X9ObjectIdentifiers.ecdsa_with_SHA256),
                new AttrOrOID(PKCSObjectIdentifiers.pkcs_9_at_challengePassword),
        }).getEncoded("DER");

        CsrAttributes attributes = CsrAttributes.parse(der);

        assertNull(attributes.challengePassword());
        assertNull(attributes.subjectAltNames());
        assertNull(attributes.ecCurve());
        assertEquals(List.of(X9ObjectIdentifiers.ecdsa_with_SHA256, PKCSObjectIdentifiers.pkcs_9_at_challengePassword),
                attributes.oids());
    }

    @Test
    void rejectsGarbage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CsrAttributes.parse(new byte[] {0x30, 0x03, 0x01, 0x02}));
        assertTrue(e.getMessage().startsWith("CSR attributes are not a DER SEQUENCE OF AttrOrOID"), e.getMessage());

        assertThrows(IllegalArgumentException.class, () -> CsrAttributes.parse("hello".getBytes()));
    }

    @Test
    void rejectsAChallengeWithTwoValues() throws Exception {
        byte[] der = new CsrAttrs(new AttrOrOID(new Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword,
                new DERSet(new ASN1Encodable[] {new DERPrintableString("a"), new DERPrintableString("b")})))).getEncoded("DER");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CsrAttributes.parse(der));
        assertTrue(e.getMessage().contains("exactly one value"), e.getMessage());
    }
}
