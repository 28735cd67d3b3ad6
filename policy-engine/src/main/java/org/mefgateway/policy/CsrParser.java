package org.mefgateway.policy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1InputStream;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.ASN1TaggedObject;
import org.bouncycastle.asn1.DERBMPString;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERT61String;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.sec.SECNamedCurves;
import org.bouncycastle.asn1.teletrust.TeleTrusTNamedCurves;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.OtherName;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Turns the DER of a PKCS#10 request (RFC 2986) into {@link CsrFacts}.
 *
 * <p>The body comes from an unauthenticated network peer, so whatever the bytes, the only
 * exception that leaves {@link #parse} is {@link MalformedCsrException} with a reason fit for
 * the client. A request that is well formed but whose signature does not verify is <em>not</em>
 * malformed: it parses with {@code signatureValid = false} and policy refuses it, so the refusal
 * is logged and counted like every other policy decision.
 *
 * <p>The subject is rendered with Bouncy Castle's {@link BCStyle}, the style every
 * {@code new X500Name(String)} in the product reads back: RFC 4514 escaping and upper-case
 * attribute names (CN, O, C, E, ...; unknown types as dotted OIDs), RDNs in the order they are
 * encoded. (RFC 4514 itself writes the last RDN first; BCStyle's order keeps the string and
 * {@code new X500Name(subject)} consistent. A oneM2M subject has one RDN, where both agree.)
 */
public final class CsrParser {

    private static final String ED25519 = "1.3.101.112";
    private static final String ED448 = "1.3.101.113";
    private static final String RSA_ENCRYPTION = "1.2.840.113549.1.1.1";

    private CsrParser() {
    }

    public static CsrFacts parse(byte[] der) throws MalformedCsrException {
        if (der == null || der.length == 0) {
            throw new MalformedCsrException("the request body holds no CSR");
        }
        try {
            return facts(decode(der), der);
        } catch (RuntimeException e) {
            // Bouncy Castle signals bad encodings with IllegalArgumentException, ClassCastException,
            // IllegalStateException, ... also from structures it decodes lazily.
            throw new MalformedCsrException("the request body is not a valid DER-encoded PKCS#10 certification request");
        } catch (StackOverflowError e) {
            // ASN.1 decoding recurses once per nesting level; a hostile body of nested
            // headers must end as a 400, not take the worker thread down.
            throw new MalformedCsrException("the request body nests ASN.1 structures too deeply");
        }
    }

    private static PKCS10CertificationRequest decode(byte[] der) throws MalformedCsrException {
        try (ASN1InputStream in = new ASN1InputStream(der)) {
            ASN1Primitive outer = in.readObject();
            if (in.available() != 0) {
                throw new MalformedCsrException("the CSR is followed by " + in.available() + " trailing bytes");
            }
            // RFC 7030 3.4 / RFC 8951: DER, the one encoding. BER (indefinite lengths, long-form
            // lengths, unsorted sets) parses too, but gives one request many byte forms, and the
            // MEF recognises a repeated request by the hash of its bytes.
            if (!java.util.Arrays.equals(outer.getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER), der)) {
                throw new MalformedCsrException("the CSR is not DER-encoded (RFC 7030 3.4): indefinite or non-minimal lengths, "
                        + "or unsorted sets");
            }
            requireOneChallengePasswordValue(outer);
            return new PKCS10CertificationRequest(CertificationRequest.getInstance(outer));
        } catch (IOException e) {
            throw new MalformedCsrException("the request body is not DER (inconsistent tags or lengths, or truncated)");
        }
    }

    /**
     * Bouncy Castle refuses a challengePassword with several values with an anonymous
     * IllegalArgumentException while building the request; checked first so the client is told why.
     */
    private static void requireOneChallengePasswordValue(ASN1Primitive request) throws MalformedCsrException {
        ASN1Sequence info = ASN1Sequence.getInstance(ASN1Sequence.getInstance(request).getObjectAt(0));
        if (info.size() < 4) {
            return;
        }
        ASN1Set attributes = ASN1Set.getInstance(ASN1TaggedObject.getInstance(info.getObjectAt(3)), false);
        for (ASN1Encodable element : attributes) {
            Attribute attribute = Attribute.getInstance(element);
            if (attribute.getAttrType().getId().equals(Oids.CHALLENGE_PASSWORD) && attribute.getAttrValues().size() != 1) {
                throw new MalformedCsrException("the challengePassword attribute must have exactly one value, not "
                        + attribute.getAttrValues().size());
            }
        }
    }

    private static CsrFacts facts(PKCS10CertificationRequest csr, byte[] der) throws MalformedCsrException {
        SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
        if (spki.getPublicKeyData().getPadBits() != 0) {
            // Every key type we know encodes its key in whole bytes; Bouncy Castle verifies the
            // signature over such a key, yet refuses to hand out its octets (found by fuzzing).
            throw new MalformedCsrException("the CSR's subjectPublicKey BIT STRING is not a whole number of bytes");
        }
        Key key = key(spki);
        Optional<String> challengePassword = Optional.empty();
        List<Extension> extensions = List.of();
        boolean seenChallenge = false;
        boolean seenExtensionRequest = false;
        for (Attribute attribute : csr.getAttributes()) {
            String type = attribute.getAttrType().getId();
            if (type.equals(Oids.CHALLENGE_PASSWORD)) {
                if (seenChallenge) {
                    throw new MalformedCsrException("the CSR has two challengePassword attributes");
                }
                seenChallenge = true;
                challengePassword = Optional.of(challengePassword(attribute.getAttrValues().getObjectAt(0)));
            } else if (type.equals(Oids.EXTENSION_REQUEST)) {
                if (seenExtensionRequest) {
                    throw new MalformedCsrException("the CSR has two extensionRequest attributes");
                }
                seenExtensionRequest = true;
                extensions = extensionRequest(attribute.getAttrValues());
            }
            // Other attributes carry nothing policy looks at; the certificate never copies them.
        }

        List<SubjectAltName> sans = List.of();
        List<String> ekus = List.of();
        boolean requestsCa = false;
        List<CsrFacts.RequestedExtension> requested = new ArrayList<>();
        for (Extension ext : extensions) {
            String oid = ext.getExtnId().getId();
            requested.add(new CsrFacts.RequestedExtension(oid, ext.isCritical(), ext.getExtnValue().getOctets()));
            switch (oid) {
                case Oids.SUBJECT_ALT_NAME -> sans = extensionValue(ext, "subjectAltName", CsrParser::subjectAltNames);
                case Oids.EXTENDED_KEY_USAGE -> ekus = extensionValue(ext, "extendedKeyUsage", CsrParser::ekus);
                case Oids.BASIC_CONSTRAINTS ->
                        requestsCa = extensionValue(ext, "basicConstraints", v -> BasicConstraints.getInstance(v).isCA());
                default -> {
                    // kept as requested: a profile may copy it verbatim (Profile.Extensions.copy)
                }
            }
        }

        return new CsrFacts(
                encoded(spki),
                key.algorithm(),
                key.curve(),
                key.sizeBits(),
                csr.getSignatureAlgorithm().getAlgorithm().getId(),
                signatureValid(csr, der),
                X500Name.getInstance(BCStyle.INSTANCE, csr.getSubject()).toString(),
                sans,
                ekus,
                requested,
                requestsCa,
                challengePassword);
    }

    record Key(String algorithm, Optional<String> curve, int sizeBits) {
    }

    static Key key(SubjectPublicKeyInfo spki) throws MalformedCsrException {
        String oid = spki.getAlgorithm().getAlgorithm().getId();
        switch (oid) {
            case Oids.EC_PUBLIC_KEY:
                return ecKey(spki.getAlgorithm().getParameters());
            case RSA_ENCRYPTION:
                try {
                    return new Key("RSA", Optional.empty(),
                            RSAPublicKey.getInstance(spki.parsePublicKey()).getModulus().bitLength());
                } catch (IOException e) {
                    throw new MalformedCsrException("the CSR's RSA public key is not valid DER");
                }
            case ED25519:
                return new Key("Ed25519", Optional.empty(), 255);
            case ED448:
                return new Key("Ed448", Optional.empty(), 448);
            default:
                return new Key(oid, Optional.empty(), 0);
        }
    }

    /** Curve names as SEC 2 and RFC 5639 spell them, which is how profiles and reasons name them. */
    private static Key ecKey(ASN1Encodable parameters) throws MalformedCsrException {
        if (parameters instanceof ASN1ObjectIdentifier curve) {
            X9ECParameters params = ECNamedCurveTable.getByOID(curve);
            String name = SECNamedCurves.getName(curve);
            if (name == null) {
                name = TeleTrusTNamedCurves.getName(curve);
            }
            if (name == null) {
                name = ECNamedCurveTable.getName(curve);
            }
            return new Key("EC", Optional.of(name != null ? name : curve.getId()),
                    params != null ? params.getCurve().getFieldSize() : 0);
        }
        if (parameters instanceof ASN1Null) {
            // implicitlyCA: RFC 5480 forbids it; reported so that policy can name it.
            return new Key("EC", Optional.of("implicitlyCA"), 0);
        }
        if (parameters instanceof ASN1Sequence) {
            return new Key("EC", Optional.of("explicit"),
                    X9ECParameters.getInstance(parameters).getCurve().getFieldSize());
        }
        throw new MalformedCsrException("the CSR's EC public key has no curve parameters");
    }

    /** PKCS#9 challengePassword: a DirectoryString (RFC 2985 5.4.1; IA5String tolerated). */
    private static String challengePassword(ASN1Encodable value) throws MalformedCsrException {
        if (value instanceof DERUTF8String || value instanceof DERPrintableString || value instanceof DERIA5String
                || value instanceof DERBMPString || value instanceof DERT61String) {
            return ((ASN1String) value).getString();
        }
        throw new MalformedCsrException("the challengePassword must be a string (UTF8String, PrintableString, "
                + "IA5String, BMPString or TeletexString)");
    }

    private static List<Extension> extensionRequest(ASN1Set values) throws MalformedCsrException {
        if (values.size() != 1) {
            throw new MalformedCsrException("the extensionRequest attribute must have exactly one value, not "
                    + values.size());
        }
        ASN1Sequence sequence = ASN1Sequence.getInstance(values.getObjectAt(0));
        List<Extension> extensions = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (ASN1Encodable element : sequence) {
            Extension ext = Extension.getInstance(element);
            String oid = ext.getExtnId().getId();
            if (!seen.add(oid)) {
                throw new MalformedCsrException("CSR requests extension " + oid + " twice");
            }
            extensions.add(ext);
        }
        return extensions;
    }

    private interface ExtensionDecoder<T> {
        T decode(ASN1Primitive value) throws MalformedCsrException;
    }

    /** Decodes a requested extension's value; a bad one is named in the reason. */
    private static <T> T extensionValue(Extension ext, String name, ExtensionDecoder<T> decoder) throws MalformedCsrException {
        try (ASN1InputStream in = new ASN1InputStream(ext.getExtnValue().getOctets())) {
            ASN1Primitive value = in.readObject();
            if (value == null || in.available() != 0) {
                throw new MalformedCsrException("the requested " + name + " extension is not one DER value");
            }
            return decoder.decode(value);
        } catch (IOException | RuntimeException e) {
            throw new MalformedCsrException("the requested " + name + " extension is not a valid " + name);
        }
    }

    private static List<SubjectAltName> subjectAltNames(ASN1Primitive value) throws MalformedCsrException {
        List<SubjectAltName> sans = new ArrayList<>();
        for (GeneralName name : GeneralNames.getInstance(value).getNames()) {
            sans.add(subjectAltName(name));
        }
        return sans;
    }

    /** One GeneralName as the rules see it (also used to read a certificate being renewed). */
    static SubjectAltName subjectAltName(GeneralName name) throws MalformedCsrException {
        ASN1Encodable v = name.getName();
        return switch (name.getTagNo()) {
            case GeneralName.dNSName -> new SubjectAltName(SubjectAltName.Kind.DNS, DERIA5String.getInstance(v).getString());
            case GeneralName.uniformResourceIdentifier ->
                    new SubjectAltName(SubjectAltName.Kind.URI, DERIA5String.getInstance(v).getString());
            case GeneralName.rfc822Name -> new SubjectAltName(SubjectAltName.Kind.EMAIL, DERIA5String.getInstance(v).getString());
            case GeneralName.iPAddress -> new SubjectAltName(SubjectAltName.Kind.IP, ipAddress(ASN1OctetString.getInstance(v)));
            case GeneralName.otherName ->
                    new SubjectAltName(SubjectAltName.Kind.OTHER, "otherName " + OtherName.getInstance(v).getTypeID().getId());
            case GeneralName.directoryName -> new SubjectAltName(SubjectAltName.Kind.OTHER,
                    "directoryName " + X500Name.getInstance(BCStyle.INSTANCE, v));
            case GeneralName.registeredID ->
                    new SubjectAltName(SubjectAltName.Kind.OTHER, "registeredID " + ASN1ObjectIdentifier.getInstance(v).getId());
            case GeneralName.x400Address -> new SubjectAltName(SubjectAltName.Kind.OTHER, "x400Address");
            case GeneralName.ediPartyName -> new SubjectAltName(SubjectAltName.Kind.OTHER, "ediPartyName");
            default -> throw new MalformedCsrException("the requested subjectAltName has an unknown GeneralName tag "
                    + name.getTagNo());
        };
    }

    private static String ipAddress(ASN1OctetString octets) throws MalformedCsrException {
        byte[] address = octets.getOctets();
        if (address.length != 4 && address.length != 16) {
            throw new MalformedCsrException("a subjectAltName iPAddress must have 4 or 16 bytes, not " + address.length);
        }
        try {
            return InetAddress.getByAddress(address).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes are always an IP address", e);
        }
    }

    private static List<String> ekus(ASN1Primitive value) {
        List<String> ekus = new ArrayList<>();
        for (KeyPurposeId usage : ExtendedKeyUsage.getInstance(value).getUsages()) {
            ekus.add(usage.toOID().getId());
        }
        return ekus;
    }

    /**
     * Proof of possession: the CSR signature verifies with the key it asks to certify, over the
     * certificationRequestInfo exactly as the client sent it. Bouncy Castle's isSignatureValid
     * re-encodes it first, sorting the attribute SET; strongSwan's pki writes extensionRequest
     * before challengePassword and signs that order, so the re-encoded bytes are not what it signed.
     */
    private static boolean signatureValid(PKCS10CertificationRequest csr, byte[] der) {
        return SignatureVerification.verifies(csr.getSubjectPublicKeyInfo(), csr.getSignatureAlgorithm(),
                firstElement(der), csr.getSignature());
    }

    /** The first element (tag, length and content) of the DER SEQUENCE {@code der}. */
    static byte[] firstElement(byte[] der) {
        int start = 1 + lengthOctets(der, 1);
        int end = start + 1 + lengthOctets(der, start + 1) + length(der, start + 1);
        return java.util.Arrays.copyOfRange(der, start, end);
    }

    /** How many octets the DER length at {@code at} takes. */
    private static int lengthOctets(byte[] der, int at) {
        int first = der[at] & 0xff;
        return first < 0x80 ? 1 : 1 + (first & 0x7f);
    }

    /** The DER length at {@code at} (definite: decode has refused anything else). */
    private static int length(byte[] der, int at) {
        int first = der[at] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int length = 0;
        for (int i = 1; i <= (first & 0x7f); i++) {
            length = (length << 8) | (der[at + i] & 0xff);
        }
        return length;
    }

    private static byte[] encoded(SubjectPublicKeyInfo spki) throws MalformedCsrException {
        try {
            return spki.getEncoded("DER");
        } catch (IOException e) {
            throw new MalformedCsrException("the CSR's public key cannot be DER-encoded");
        }
    }
}
