package org.mefgateway.enrolee;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.DirectoryString;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * What the MEF asks the Enrolee to put into its CSR ({@code GET /csrattrs}, RFC 7030 4.5.2 as
 * clarified by RFC 8951: {@code SEQUENCE OF AttrOrOID}).
 *
 * <p>Attributes this Enrolee does not use are ignored, as RFC 7030 4.5.2 allows; only the
 * extensions it must copy into the CSR are kept, unchanged (including their criticality), so the
 * CSR carries exactly what the MEF asked for.
 *
 * @param challengePassword the challenge to return in the CSR (TS-0003 step 5), or null
 * @param subjectAltName    the subjectAltName extension from extensionRequest, or null
 * @param extendedKeyUsage  the extendedKeyUsage extension from extensionRequest, or null
 * @param ecCurve           the curve required by an id-ecPublicKey attribute, or null
 * @param oids              the bare OIDs (e.g. ecdsa-with-SHA256), in the order received
 */
public record CsrAttributes(String challengePassword, Extension subjectAltName, Extension extendedKeyUsage,
                            ASN1ObjectIdentifier ecCurve, List<ASN1ObjectIdentifier> oids) {

    public CsrAttributes {
        oids = List.copyOf(oids);
    }

    /**
     * Parses the DER of the csrattrs response (already base64-decoded).
     *
     * @throws IllegalArgumentException if it is not a {@code SEQUENCE OF AttrOrOID} or an attribute
     *                                  this Enrolee uses is malformed or repeated
     */
    public static CsrAttributes parse(byte[] der) {
        AttrOrOID[] entries;
        try {
            entries = CsrAttrs.getInstance(ASN1Primitive.fromByteArray(der)).getAttrOrOIDs();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("CSR attributes are not a DER SEQUENCE OF AttrOrOID: " + e.getMessage(), e);
        }
        String challenge = null;
        Extension san = null;
        Extension eku = null;
        ASN1ObjectIdentifier curve = null;
        List<ASN1ObjectIdentifier> oids = new ArrayList<>();
        boolean seenExtensionRequest = false;
        for (AttrOrOID entry : entries) {
            if (entry.isOid()) {
                oids.add(entry.getOid());
                continue;
            }
            Attribute attribute = entry.getAttribute();
            ASN1ObjectIdentifier type = attribute.getAttrType();
            try {
                if (type.equals(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
                    requireFirst(challenge == null, "challengePassword");
                    challenge = DirectoryString.getInstance(singleValue(attribute, "challengePassword")).getString();
                } else if (type.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
                    requireFirst(curve == null, "id-ecPublicKey");
                    curve = ASN1ObjectIdentifier.getInstance(singleValue(attribute, "id-ecPublicKey"));
                } else if (type.equals(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
                    requireFirst(!seenExtensionRequest, "extensionRequest");
                    seenExtensionRequest = true;
                    Extensions extensions = Extensions.getInstance(singleValue(attribute, "extensionRequest"));
                    san = extensions.getExtension(Extension.subjectAlternativeName);
                    eku = extensions.getExtension(Extension.extendedKeyUsage);
                    // Parse both now so a malformed value is reported here, not when the CSR is built.
                    if (san != null) {
                        GeneralNames.getInstance(san.getParsedValue());
                    }
                    if (eku != null) {
                        ExtendedKeyUsage.getInstance(eku.getParsedValue());
                    }
                }
            } catch (IllegalArgumentException | IllegalStateException | ClassCastException e) {
                throw new IllegalArgumentException("CSR attribute " + type.getId() + " is malformed: " + e.getMessage(), e);
            }
        }
        return new CsrAttributes(challenge, san, eku, curve, oids);
    }

    /** The identity the MEF asks for, or null if csrattrs carried no subjectAltName. */
    public GeneralNames subjectAltNames() {
        return subjectAltName == null ? null : GeneralNames.getInstance(subjectAltName.getParsedValue());
    }

    /** The EKUs the MEF asks for (for the Enrolee's SUIDs); empty if none. */
    public List<KeyPurposeId> extendedKeyUsages() {
        return extendedKeyUsage == null ? List.of()
                : List.of(ExtendedKeyUsage.getInstance(extendedKeyUsage.getParsedValue()).getUsages());
    }

    /** Never shows the challenge: it is a single-use secret. */
    @Override
    public String toString() {
        return "CsrAttributes[challengePassword=" + (challengePassword == null ? "none" : challengePassword.length() + " chars")
                + ", subjectAltName=" + Describe.generalNames(subjectAltNames())
                + ", extendedKeyUsages=" + Describe.keyPurposes(extendedKeyUsages())
                + ", ecCurve=" + ecCurve + ", oids=" + oids + "]";
    }

    private static ASN1Encodable singleValue(Attribute attribute, String name) {
        if (attribute.getAttrValues().size() != 1) {
            throw new IllegalArgumentException(name + " must have exactly one value, has "
                    + attribute.getAttrValues().size());
        }
        return attribute.getAttrValues().getObjectAt(0);
    }

    private static void requireFirst(boolean first, String name) {
        if (!first) {
            throw new IllegalArgumentException(name + " appears more than once");
        }
    }
}
