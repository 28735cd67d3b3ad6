package org.mefgateway.it.hostile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.DERTaggedObject;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Writes the Java-made half of the hostile-input corpus (the other half is made by openssl in
 * {@code src/test/resources/hostile/generate}, which also runs this). JUnit-free: run it with
 * the output directory as its argument. Every CSR names the AE-ID {@link #AE_ID} and the EKU of
 * SUID 40, as the tests register them, so that each case differs from an acceptable request in
 * the one way its name says. Keys and signatures are fresh on every run; the set of cases and
 * their structure are fixed.
 */
public final class HostileCorpus {
    public static final String AE_ID = "//m2m.example.com/CSE3219/C0001";
    /** The EKU of SUID 40 in the gateway's default mapping (Oids.SUID_EKU_ARC + ".40"; the test checks they agree). */
    public static final String EKU_40 = "2.25.318609125702178136709414221712267757771.1.40";

    private final Path out;
    private final KeyPair p256;

    private HostileCorpus(Path out) throws Exception {
        this.out = out;
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        this.p256 = kpg.generateKeyPair();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: HostileCorpus OUTPUT_DIR");
            System.exit(2);
        }
        new HostileCorpus(Files.createDirectories(Path.of(args[0]))).write();
    }

    private void write() throws Exception {
        byte[] good = csr(List.of(san(uri(AE_ID)), eku(EKU_40)), null);
        String goodB64 = b64(good);

        // --- transfer encoding ---
        text("base64-broken", "MIIB!!!not*base64@@@\n");
        text("base64-truncated-odd", goodB64.substring(0, 4 * (goodB64.length() / 8) + 1));
        text("base64-url-alphabet", goodB64.replace('+', '-').replace('/', '_') + "-_-_");
        text("base64-pem-armour", "-----BEGIN CERTIFICATE REQUEST-----\n" + goodB64 + "\n-----END CERTIFICATE REQUEST-----\n");
        raw("base64-nul-bytes", concat(goodB64.substring(0, 40).getBytes(StandardCharsets.US_ASCII), new byte[] {0, 0, 0, 0},
                goodB64.substring(40).getBytes(StandardCharsets.US_ASCII)));
        text("base64-non-ascii", goodB64.substring(0, 20) + "\u00e9\u00e9\u00e9\u00e9" + goodB64.substring(20));

        // --- DER framing ---
        der("der-truncated", Arrays.copyOf(good, good.length / 2));
        der("der-length-too-long", withOuterLength(good, good.length + 100));
        der("der-length-too-short", withOuterLength(good, good.length - 20));
        der("der-trailing-garbage", concat(good, new byte[] {0x30, 0x00, 0x05, 0x00}));
        der("der-indefinite-length", concat(new byte[] {0x30, (byte) 0x80}, body(good), new byte[] {0, 0}));
        der("der-length-overflow", concat(new byte[] {0x30, (byte) 0x84, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xf0}, body(good)));
        der("der-not-a-csr", new DERSequence(new ASN1Integer(42)).getEncoded(ASN1Encoding.DER));
        der("asn1-nested-10000-sequences", nested(10_000));
        der("asn1-huge-integer", new DERSequence(new ASN1Integer(new java.math.BigInteger(1, filled(40_000, 0x7f))))
                .getEncoded(ASN1Encoding.DER));

        // --- signature ---
        byte[] badSignature = good.clone();
        badSignature[badSignature.length - 5] ^= 0x01;
        der("csr-signature-does-not-verify", badSignature);
        der("csr-signature-sha1", csr(List.of(san(uri(AE_ID)), eku(EKU_40)), null, "SHA1withECDSA"));

        // --- extensions ---
        der("csr-duplicate-san-extension", csr(List.of(san(uri(AE_ID)), san(uri("//m2m.example.com/CSE3219/C6666")), eku(EKU_40)), null));
        der("csr-conflicting-basic-constraints", csr(List.of(san(uri(AE_ID)), eku(EKU_40),
                ext(Extension.basicConstraints, false, new BasicConstraints(false)),
                ext(Extension.basicConstraints, true, new BasicConstraints(true))), null));
        der("csr-two-extension-requests", csrWithAttributes(List.of(
                extensionRequest(List.of(san(uri(AE_ID)))), extensionRequest(List.of(eku(EKU_40))))));
        der("csr-unknown-critical-extension", csr(List.of(san(uri(AE_ID)), eku(EKU_40),
                ext(new ASN1ObjectIdentifier("1.3.6.1.4.1.55555.1"), true, new DEROctetString(new byte[] {1, 2, 3}))), null));
        der("csr-ca-true", csr(List.of(san(uri(AE_ID)), eku(EKU_40), ext(Extension.basicConstraints, true, new BasicConstraints(true))), null));
        der("csr-keyusage-keycertsign", csr(List.of(san(uri(AE_ID)), eku(EKU_40),
                ext(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign))), null));
        der("csr-san-not-generalnames", csr(List.of(ext(Extension.subjectAlternativeName, false, new DERUTF8String(AE_ID)), eku(EKU_40)), null));

        // --- names ---
        der("csr-san-uri-nul-byte", csr(List.of(san(rawName(6, (AE_ID + "\u0000.evil.example").getBytes(StandardCharsets.US_ASCII))),
                eku(EKU_40)), null));
        der("csr-san-registered-plus-nul-suffix", csr(List.of(san(uri(AE_ID),
                rawName(6, (AE_ID + "\u0000").getBytes(StandardCharsets.US_ASCII))), eku(EKU_40)), null));
        der("csr-san-dns-nul-byte", csr(List.of(san(uri(AE_ID), rawName(2, "m2m.example.com\u0000.evil.example"
                .getBytes(StandardCharsets.US_ASCII))), eku(EKU_40)), null));
        der("csr-san-idn-homoglyph-utf8", csr(List.of(san(rawName(6, "//m2m.\u0435xample.com/CSE3219/C0001"
                .getBytes(StandardCharsets.UTF_8))), eku(EKU_40)), null));
        der("csr-san-idn-punycode", csr(List.of(san(uri("//m2m.xn--xample-2of.com/CSE3219/C0001")), eku(EKU_40)), null));
        der("csr-subject-cn-homoglyph", csr(List.of(san(uri(AE_ID)), eku(EKU_40)),
                new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, new DERUTF8String("//m2m.\u0435xample.com/CSE3219/C0001")).build()));
        der("csr-san-overlong-uri", csr(List.of(san(uri(AE_ID), uri("//m2m.example.com/" + "A".repeat(30_000))), eku(EKU_40)), null));
        der("csr-subject-overlong-cn", csr(List.of(san(uri(AE_ID)), eku(EKU_40)),
                new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, new DERUTF8String("C".repeat(30_000))).build()));
        der("csr-subject-control-characters", csr(List.of(san(uri(AE_ID)), eku(EKU_40)),
                new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, new DERUTF8String(AE_ID + "\r\nFORGED log line")).build()));

        // --- challengePassword ---
        der("csr-challenge-integer", csrWithAttributes(List.of(
                new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERSet(new ASN1Integer(123456))),
                extensionRequest(List.of(san(uri(AE_ID)), eku(EKU_40))))));
        der("csr-challenge-octet-string", csrWithAttributes(List.of(
                new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword,
                        new DERSet(new DEROctetString(new byte[] {0, 1, 2, (byte) 0xff}))),
                extensionRequest(List.of(san(uri(AE_ID)), eku(EKU_40))))));
        der("csr-challenge-too-long", csrWithAttributes(List.of(
                new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword,
                        new DERSet(new DERPrintableString("A".repeat(30_000)))),
                extensionRequest(List.of(san(uri(AE_ID)), eku(EKU_40))))));
        der("csr-challenge-two-values", csrWithAttributes(List.of(
                new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword,
                        new DERSet(new ASN1Encodable[] {new DERPrintableString("aaaa"), new DERPrintableString("bbbb")})),
                extensionRequest(List.of(san(uri(AE_ID)), eku(EKU_40))))));
        der("csr-challenge-two-attributes", csrWithAttributes(List.of(
                new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERSet(new DERPrintableString("aaaa"))),
                new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERSet(new DERPrintableString("bbbb"))),
                extensionRequest(List.of(san(uri(AE_ID)), eku(EKU_40))))));

        // --- keys made here (the curves the JDK no longer has are made by openssl) ---
        der("csr-rsa-512", csr(rsa(512), List.of(san(uri(AE_ID)), eku(EKU_40)), null, "SHA256withRSA"));
        der("csr-rsa-1024", csr(rsa(1024), List.of(san(uri(AE_ID)), eku(EKU_40)), null, "SHA256withRSA"));
        der("csr-ec-compressed-point", compressedPoint(csr(List.of(san(uri(AE_ID)), eku(EKU_40)), null)));
    }

    // ---------------------------------------------------------------------------------------

    private byte[] csr(List<Extension> extensions, X500Name subject) throws Exception {
        return csr(extensions, subject, "SHA256withECDSA");
    }

    private byte[] csr(List<Extension> extensions, X500Name subject, String algorithm) throws Exception {
        return csr(p256, extensions, subject, algorithm);
    }

    private byte[] csr(KeyPair keys, List<Extension> extensions, X500Name subject, String algorithm) throws Exception {
        return sign(keys, subject, List.of(extensionRequest(extensions)), algorithm);
    }

    private byte[] csrWithAttributes(List<org.bouncycastle.asn1.pkcs.Attribute> attributes) throws Exception {
        return sign(p256, null, attributes, "SHA256withECDSA");
    }

    /** Builds and signs the request by hand, so that nothing checks what a hostile client would not. */
    private static byte[] sign(KeyPair keys, X500Name subject, List<org.bouncycastle.asn1.pkcs.Attribute> attributes, String algorithm)
            throws Exception {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
        ASN1EncodableVector attrs = new ASN1EncodableVector();
        attributes.forEach(attrs::add);
        // CertificationRequestInfo by hand too: Bouncy Castle's refuses a challengePassword with two values.
        DERSequence info = new DERSequence(new ASN1Encodable[] {new ASN1Integer(0),
                subject == null ? new X500Name(new org.bouncycastle.asn1.x500.RDN[0]) : subject, spki,
                new DERTaggedObject(false, 0, new DERSet(attrs))});
        ContentSigner signer = new JcaContentSignerBuilder(algorithm).build(keys.getPrivate());
        signer.getOutputStream().write(info.getEncoded(ASN1Encoding.DER));
        AlgorithmIdentifier alg = signer.getAlgorithmIdentifier();
        return new DERSequence(new ASN1Encodable[] {info, alg, new DERBitString(signer.getSignature())}).getEncoded(ASN1Encoding.DER);
    }

    private static org.bouncycastle.asn1.pkcs.Attribute extensionRequest(List<Extension> extensions) {
        // A SEQUENCE OF Extension built directly: Bouncy Castle's Extensions refuses duplicates.
        return new org.bouncycastle.asn1.pkcs.Attribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest,
                new DERSet(new DERSequence(extensions.toArray(ASN1Encodable[]::new))));
    }

    private static Extension ext(ASN1ObjectIdentifier oid, boolean critical, ASN1Encodable value) throws IOException {
        return new Extension(oid, critical, new DEROctetString(value.toASN1Primitive().getEncoded(ASN1Encoding.DER)));
    }

    private static Extension san(ASN1Encodable... names) throws IOException {
        return ext(Extension.subjectAlternativeName, false, new DERSequence(names));
    }

    private static Extension eku(String oid) throws IOException {
        return ext(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(oid))));
    }

    private static GeneralName uri(String value) {
        return new GeneralName(GeneralName.uniformResourceIdentifier, new DERIA5String(value));
    }

    /** A GeneralName [tag] IMPLICIT whose bytes are not checked: NUL bytes, UTF-8 in an IA5String. */
    private static ASN1Encodable rawName(int tag, byte[] bytes) {
        return new DERTaggedObject(false, tag, new DEROctetString(bytes));
    }

    private static KeyPair rsa(int bits) throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
        kpg.initialize(bits, new SecureRandom());
        return kpg.generateKeyPair();
    }

    /** The same request with its EC point rewritten to compressed form (the signature no longer matches either). */
    private static byte[] compressedPoint(byte[] csr) {
        byte[] copy = csr.clone();
        for (int i = 0; i + 65 < copy.length; i++) {
            if (copy[i] == 0x03 && copy[i + 1] == 0x42 && copy[i + 2] == 0x00 && copy[i + 3] == 0x04) {
                copy[i + 3] = 0x02; // the length stays: a decoder sees a wrong-length compressed point
                return copy;
            }
        }
        throw new IllegalStateException("no uncompressed point found");
    }

    private static byte[] nested(int depth) {
        // Built from the inside out: each level is 0x30 + a definite length.
        ByteArrayOutputStream inner = new ByteArrayOutputStream();
        byte[] current = {0x05, 0x00};
        for (int i = 0; i < depth; i++) {
            current = concat(new byte[] {0x30}, length(current.length), current);
        }
        inner.writeBytes(current);
        return inner.toByteArray();
    }

    private static byte[] length(int n) {
        if (n < 0x80) {
            return new byte[] {(byte) n};
        }
        if (n < 0x100) {
            return new byte[] {(byte) 0x81, (byte) n};
        }
        if (n < 0x10000) {
            return new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        }
        return new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    }

    /** The contents of the outer SEQUENCE (everything after its tag and length). */
    private static byte[] body(byte[] der) {
        int lengthBytes = (der[1] & 0x80) == 0 ? 1 : 1 + (der[1] & 0x7f);
        return Arrays.copyOfRange(der, 1 + lengthBytes, der.length);
    }

    private static byte[] withOuterLength(byte[] der, int claimed) {
        return concat(new byte[] {0x30}, length(claimed), body(der));
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static String b64(byte[] der) {
        return Base64.getMimeEncoder().encodeToString(der) + "\r\n";
    }

    private void der(String name, byte[] der) throws IOException {
        text(name, b64(der));
    }

    private void text(String name, String body) throws IOException {
        raw(name, body.getBytes(StandardCharsets.UTF_8));
    }

    private void raw(String name, byte[] body) throws IOException {
        Files.write(out.resolve(name + ".b64"), body);
    }

}
