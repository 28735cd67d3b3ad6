package org.mefgateway.policy;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERTaggedObject;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.ContentSigner;

/**
 * Real PKCS#10 requests for the tests, built and signed with Bouncy Castle. Keys are generated
 * once per test run: RSA key generation alone would otherwise dominate the test time.
 */
final class TestCsrs {

    static final Provider BC = new BouncyCastleProvider();

    static final KeyPair P256 = generate("EC", new ECGenParameterSpec("secp256r1"));
    static final KeyPair P256_OTHER = generate("EC", new ECGenParameterSpec("secp256r1"));
    static final KeyPair P384 = generate("EC", new ECGenParameterSpec("secp384r1"));
    static final KeyPair RSA2048 = generate("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
    static final KeyPair RSA1024 = generate("RSA", new RSAKeyGenParameterSpec(1024, RSAKeyGenParameterSpec.F4));
    static final KeyPair P521 = generate("EC", new ECGenParameterSpec("secp521r1"));
    static final KeyPair ED25519 = generate("Ed25519", new java.security.spec.NamedParameterSpec("Ed25519"));

    static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
    static final String SHA384_WITH_ECDSA = "1.2.840.10045.4.3.3";
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

    private TestCsrs() {
    }

    static KeyPair generate(String algorithm, AlgorithmParameterSpec spec) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm, BC);
            generator.initialize(spec);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String suidEku(int suid) {
        return Oids.SUID_EKU_ARC + "." + suid;
    }

    static Builder csr(KeyPair key) {
        return new Builder(key);
    }

    /** A CSR under construction; by default an empty subject, no extensions and challengePassword "s3cret". */
    static final class Builder {
        private final KeyPair key;
        private SubjectPublicKeyInfo publicKey;
        private KeyPair signer;
        private String signatureAlgorithm;
        private X500Name subject = new X500Name("");
        private final List<GeneralName> sans = new ArrayList<>();
        private final List<KeyPurposeId> ekus = new ArrayList<>();
        private final List<Extension> extensions = new ArrayList<>();
        private boolean ca;
        private ASN1Encodable[] challengeValues = {new DERUTF8String("s3cret")};

        private Builder(KeyPair key) {
            this.key = key;
            this.signer = key;
            this.publicKey = SubjectPublicKeyInfo.getInstance(key.getPublic().getEncoded());
            this.signatureAlgorithm = key.getPublic().getAlgorithm().equals("RSA") ? "SHA256withRSA"
                    : key.getPublic().getAlgorithm().startsWith("Ed") ? key.getPublic().getAlgorithm()
                    : "SHA256withECDSA";
        }

        Builder subject(String rfc4514) {
            subject = new X500Name(rfc4514);
            return this;
        }

        Builder subject(X500Name name) {
            subject = name;
            return this;
        }

        Builder san(int generalNameTag, String value) {
            sans.add(new GeneralName(generalNameTag, value));
            return this;
        }

        Builder san(GeneralName name) {
            sans.add(name);
            return this;
        }

        Builder uri(String uri) {
            return san(GeneralName.uniformResourceIdentifier, uri);
        }

        Builder eku(String oid) {
            ekus.add(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(oid)));
            return this;
        }

        Builder ca() {
            ca = true;
            return this;
        }

        Builder extension(String oid, boolean critical, ASN1Encodable value) {
            try {
                extensions.add(new Extension(new ASN1ObjectIdentifier(oid), critical, value.toASN1Primitive().getEncoded("DER")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        Builder challenge(ASN1Encodable... values) {
            challengeValues = values;
            return this;
        }

        Builder noChallenge() {
            challengeValues = null;
            return this;
        }

        /** Sign with another key than the one the CSR certifies: no proof of possession. */
        Builder signedBy(KeyPair other) {
            signer = other;
            return this;
        }

        Builder signatureAlgorithm(String jcaName) {
            signatureAlgorithm = jcaName;
            return this;
        }

        /** Replace the SubjectPublicKeyInfo (e.g. explicit curve parameters); the CSR is still signed by the key. */
        Builder publicKey(SubjectPublicKeyInfo spki) {
            publicKey = spki;
            return this;
        }

        /**
         * Assembled by hand rather than with PKCS10CertificationRequestBuilder, which refuses
         * some of the malformed requests the tests need (two challengePassword values, an
         * extension requested twice).
         */
        byte[] der() {
            ASN1EncodableVector attributes = new ASN1EncodableVector();
            if (challengeValues != null) {
                attributes.add(new Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERSet(challengeValues)));
            }
            List<Extension> all = new ArrayList<>();
            if (!sans.isEmpty()) {
                all.add(extension(Extension.subjectAlternativeName, new GeneralNames(sans.toArray(GeneralName[]::new))));
            }
            if (!ekus.isEmpty()) {
                all.add(extension(Extension.extendedKeyUsage, new ExtendedKeyUsage(ekus.toArray(KeyPurposeId[]::new))));
            }
            if (ca) {
                all.add(extension(Extension.basicConstraints, new BasicConstraints(true)));
            }
            all.addAll(extensions);
            if (!all.isEmpty()) {
                attributes.add(new Attribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest,
                        new DERSet(new DERSequence(all.toArray(Extension[]::new)))));
            }
            DERSequence info = new DERSequence(new ASN1Encodable[] {
                    new ASN1Integer(0), subject, publicKey, new DERTaggedObject(false, 0, new DERSet(attributes))});
            try {
                ContentSigner contentSigner = new JcaContentSignerBuilder(signatureAlgorithm).setProvider(BC)
                        .build(signer.getPrivate());
                try (OutputStream out = contentSigner.getOutputStream()) {
                    out.write(info.getEncoded(ASN1Encoding.DER));
                }
                return new DERSequence(new ASN1Encodable[] {
                        info, contentSigner.getAlgorithmIdentifier(), new DERBitString(contentSigner.getSignature())})
                        .getEncoded(ASN1Encoding.DER);
            } catch (OperatorCreationException e) {
                throw new IllegalStateException(e);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        CsrFacts facts() {
            try {
                return CsrParser.parse(der());
            } catch (MalformedCsrException e) {
                throw new AssertionError("test CSR does not parse: " + e.getMessage(), e);
            }
        }

        private static Extension extension(ASN1ObjectIdentifier oid, ASN1Encodable value) {
            try {
                return new Extension(oid, false, value.toASN1Primitive().getEncoded("DER"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
