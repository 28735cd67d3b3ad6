package org.mefgateway.policy;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * What was parsed and checked from a PKCS#10 request: everything the rules look at, and the
 * subject public key the certificate will carry. Built only by {@link CsrParser}.
 *
 * @param subjectPublicKeyInfo   DER of the CSR's SubjectPublicKeyInfo, copied into the certificate
 * @param keyAlgorithm           "EC", "RSA", "Ed25519", ... or the OID when unknown
 * @param ecCurve                the named curve ("secp256r1", ...) for EC keys, else empty
 * @param keySizeBits            key size in bits (field size for EC, modulus for RSA)
 * @param signatureAlgorithmOid  OID of the CSR's signature algorithm
 * @param signatureValid         whether the CSR signature verifies with its own public key
 *                               (proof of possession, RFC 2986 / RFC 7030 3.4)
 * @param subject                RFC 4514 string of the subject DN; "" for an empty subject
 * @param subjectAltNames        requested subjectAltName entries, in order
 * @param requestedEkus          OIDs of the requested extendedKeyUsage, in order
 * @param requestedExtensions    every extension in the extensionRequest attribute, in order
 * @param requestsCa             whether basicConstraints cA=TRUE is requested
 * @param challengePassword      the challengePassword attribute, if present
 */
public record CsrFacts(
        byte[] subjectPublicKeyInfo,
        String keyAlgorithm,
        Optional<String> ecCurve,
        int keySizeBits,
        String signatureAlgorithmOid,
        boolean signatureValid,
        String subject,
        List<SubjectAltName> subjectAltNames,
        List<String> requestedEkus,
        List<RequestedExtension> requestedExtensions,
        boolean requestsCa,
        Optional<String> challengePassword) {

    public CsrFacts {
        subjectPublicKeyInfo = subjectPublicKeyInfo.clone();
        subjectAltNames = List.copyOf(subjectAltNames);
        requestedEkus = List.copyOf(requestedEkus);
        requestedExtensions = List.copyOf(requestedExtensions);
    }

    /**
     * These facts with another subject public key: for server-side key generation (RFC 7030
     * 4.4), where the certificate is for the key the MEF generated, not for the CSR's.
     */
    public CsrFacts withSubjectPublicKey(byte[] spki) throws MalformedCsrException {
        CsrParser.Key key = CsrParser.key(SubjectPublicKeyInfo.getInstance(spki));
        return new CsrFacts(spki, key.algorithm(), key.curve(), key.sizeBits(), signatureAlgorithmOid, signatureValid, subject,
                subjectAltNames, requestedEkus, requestedExtensions, requestsCa, challengePassword);
    }

    /** OIDs of every requested extension. */
    public Set<String> requestedExtensionOids() {
        return requestedExtensions.stream().map(RequestedExtension::oid).collect(Collectors.toUnmodifiableSet());
    }

    /** OIDs of the requested extensions marked critical. */
    public Set<String> criticalExtensionOids() {
        return requestedExtensions.stream().filter(RequestedExtension::critical).map(RequestedExtension::oid)
                .collect(Collectors.toUnmodifiableSet());
    }

    /** The requested extension with this OID (the parser refuses a CSR that requests one twice). */
    public Optional<RequestedExtension> requestedExtension(String oid) {
        return requestedExtensions.stream().filter(e -> e.oid().equals(oid)).findFirst();
    }

    /**
     * One extension of the extensionRequest attribute.
     *
     * @param oid      extnID
     * @param critical the critical flag
     * @param value    the DER inside extnValue
     */
    public record RequestedExtension(String oid, boolean critical, byte[] value) {
        public RequestedExtension {
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }
    }

    @Override
    public byte[] subjectPublicKeyInfo() {
        return subjectPublicKeyInfo.clone();
    }
}
