package org.mefgateway.gateway.est;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSAbsentContent;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.util.CollectionStore;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.OperationException;
import org.mefgateway.policy.Oids;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.SubjectAltName;

/**
 * The EST wire format (RFC 7030 as clarified by RFC 8951): base64 of DER in both directions,
 * certs-only CMS for certificates, and the csrattrs SEQUENCE OF AttrOrOID.
 */
public final class EstWire {
    public static final String PKCS7_CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only";
    public static final String CSRATTRS = "application/csrattrs";
    public static final String PKCS10 = "application/pkcs10";


    private EstWire() {
    }

    /**
     * Decodes a base64 body. RFC 8951 section 3: the receiver tolerates white space and ignores
     * Content-Transfer-Encoding, so CR, LF, space and tab are skipped; anything else outside the
     * base64 alphabet is an error (a bad request under the rule {@code body.base64}).
     */
    public static byte[] decodeBase64(byte[] body) {
        byte[] compact = new byte[body.length];
        int n = 0;
        for (byte b : body) {
            if (b != '\r' && b != '\n' && b != ' ' && b != '\t') {
                compact[n++] = b;
            }
        }
        if (n == 0) {
            throw notBase64("the request body is empty: expected base64 of a DER PKCS#10 request");
        }
        try {
            return Base64.getDecoder().decode(java.util.Arrays.copyOf(compact, n));
        } catch (IllegalArgumentException e) {
            throw notBase64("the request body is not base64 (RFC 8951: base64 of the DER request)");
        }
    }

    /** The rule of an enrolment whose body is not base64: refused, audited and counted as policy refusals are. */
    static final String BODY_BASE64 = "body.base64";

    private static OperationException notBase64(String reason) {
        return new OperationException(ErrorCode.BAD_REQUEST, reason, Optional.of(BODY_BASE64), Optional.empty());
    }

    /**
     * Base64 in one unbroken line. RFC 8951 3 lets a sender break lines or not; deployed clients
     * (strongSwan's pki, GNU coreutils' base64 -d) cannot decode CRLF-broken base64, and every
     * client decodes it unbroken.
     */
    public static String encodeBase64(byte[] der) {
        return Base64.getEncoder().encodeToString(der);
    }

    /** The multipart boundary of serverkeygen responses; base64 never contains '-'. */
    public static final String BOUNDARY = "est-mef-boundary";
    /** RFC 7030 4.4.2 response type, the boundary quoted as RFC 2046 5.1.1 writes it. */
    public static final String SERVERKEYGEN_TYPE = "multipart/mixed; boundary=\"" + BOUNDARY + "\"";

    /**
     * RFC 7030 4.4.2: a multipart/mixed body whose first part is the private key
     * (application/pkcs8) and whose second part is the certificate (certs-only), both base64.
     */
    public static String serverKeyGenResponse(byte[] pkcs8, String certsOnlyBase64) {
        return "--" + BOUNDARY + "\r\n"
                + "Content-Type: application/pkcs8\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + encodeBase64(pkcs8) + "\r\n"
                + "--" + BOUNDARY + "\r\n"
                + "Content-Type: " + PKCS7_CERTS_ONLY + "\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + certsOnlyBase64 + "\r\n"
                + "--" + BOUNDARY + "--\r\n";
    }

    /** A degenerate ("certs-only") CMS SignedData holding these certificates (RFC 7030 4.1.3, 4.2.3). */
    public static byte[] certsOnly(List<byte[]> certificatesDer) {
        try {
            List<X509CertificateHolder> holders = new ArrayList<>();
            for (byte[] der : certificatesDer) {
                holders.add(new X509CertificateHolder(der));
            }
            CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
            gen.addCertificates(new CollectionStore<>(holders));
            return gen.generate(new CMSAbsentContent()).getEncoded(ASN1Encoding.DER);
        } catch (IOException | CMSException e) {
            throw new IllegalStateException("certs-only message cannot be built", e);
        }
    }

    public static byte[] der(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("certificate cannot be encoded", e);
        }
    }

    /**
     * The CSR attributes for one Enrolee (TS-0003 step 5, RFC 7030 4.5.2): the signature algorithm
     * and key type the profile prefers, the fresh challengePassword (when the profile requires
     * one), and an extensionRequest carrying the subjectAltName identity it must request (when the
     * profile binds to it) and the EKUs of its SUIDs. Every profile names a key type, so the set
     * is never empty and the 204 of RFC 7030 4.5.2 does not occur.
     */
    public static byte[] csrAttributes(Optional<String> challengePassword, Profile.Keys keys, Optional<SubjectAltName> identity,
                                       List<String> ekus) {
        try {
            ASN1EncodableVector attrs = new ASN1EncodableVector();
            if (keys.ecCurves().isEmpty()) {
                attrs.add(new ASN1ObjectIdentifier(keys.rsaMinBits() > 0 ? Oids.SHA256_WITH_RSA : Oids.ED25519));
            } else {
                // The strongest-but-cheapest choice first: P-256 when allowed (TS-0003 10.1).
                String curve = keys.ecCurves().stream().sorted().findFirst().orElseThrow();
                attrs.add(new ASN1ObjectIdentifier(curve.equals("secp256r1") ? Oids.ECDSA_WITH_SHA256 : Oids.ECDSA_WITH_SHA384));
                attrs.add(new Attribute(new ASN1ObjectIdentifier(Oids.EC_PUBLIC_KEY),
                        new DERSet(ECNamedCurveTable.getOID(curve))));
            }
            challengePassword.ifPresent(c -> attrs.add(new Attribute(new ASN1ObjectIdentifier(Oids.CHALLENGE_PASSWORD),
                    new DERSet(new DERPrintableString(c, true)))));
            ExtensionsGenerator ext = new ExtensionsGenerator();
            if (identity.isPresent()) {
                ext.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(CertificateAuthority.generalName(identity.get())));
            }
            if (!ekus.isEmpty()) {
                KeyPurposeId[] purposes = ekus.stream()
                        .map(oid -> KeyPurposeId.getInstance(new ASN1ObjectIdentifier(oid))).toArray(KeyPurposeId[]::new);
                ext.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
            }
            if (!ext.isEmpty()) {
                attrs.add(new Attribute(new ASN1ObjectIdentifier(Oids.EXTENSION_REQUEST), new DERSet((ASN1Encodable) ext.generate())));
            }
            return new DERSequence(attrs).getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("csrattrs cannot be encoded", e);
        }
    }
}
