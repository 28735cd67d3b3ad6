package org.mefgateway.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Key material made before the measurement: a device maker's CA, bootstrap credentials, Enrolee key pairs. */
final class Material {
    /** The oneM2M SUID 40 EKU under the gateway's private arc (policy-engine Oids.SUID_EKU_ARC + ".40"). */
    static final String SUID_40_EKU = "2.25.318609125702178136709414221712267757771.1.40";
    static final char[] PASSWORD = "bench".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private Material() {
    }

    static KeyPair p256() throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        return kpg.generateKeyPair();
    }

    record Maker(KeyPair keys, X509Certificate certificate) {
    }

    static Maker maker() throws Exception {
        KeyPair keys = p256();
        X500Name subject = new X500Name("CN=Bench Device Maker CA,O=MEF Bench");
        Instant now = Instant.now();
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(subject,
                BigInteger.valueOf(RANDOM.nextInt(Integer.MAX_VALUE)), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(30))), subject, keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        return new Maker(keys, cert);
    }

    /** One device: its bootstrap certificate from the maker, and the key managers presenting it. */
    record Device(String id, String aeId, X509Certificate certificate, KeyManager[] keyManagers, byte[] p12) {
    }

    static Device device(Maker maker, String id, String aeId) throws Exception {
        KeyPair keys = p256();
        Instant now = Instant.now();
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                X500Name.getInstance(maker.certificate().getSubjectX500Principal().getEncoded()),
                BigInteger.valueOf(RANDOM.nextInt(Integer.MAX_VALUE)), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(30))), new X500Name("CN=" + id + ",O=MEF Bench"), keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(maker.keys().getPrivate())));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("bootstrap", keys.getPrivate(), PASSWORD, new Certificate[] {cert, maker.certificate()});
        return new Device(id, aeId, cert, keyManagers(ks, PASSWORD), p12(ks));
    }

    static KeyManager[] keyManagers(KeyStore ks, char[] password) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        return kmf.getKeyManagers();
    }

    static KeyStore load(byte[] p12, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(new ByteArrayInputStream(p12), password);
        return ks;
    }

    static byte[] p12(KeyStore ks) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ks.store(out, PASSWORD);
        return out.toByteArray();
    }

    static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
        return w.toString();
    }

    /**
     * The CSR an AE with SUID 40 sends (as the integration tests' {@code Est.csr} builds it):
     * CN and SAN URI = its AE-ID, the challengePassword from csrattrs, the SUID's EKU; signed
     * SHA256withECDSA with its P-256 key.
     */
    static byte[] csr(String aeId, String challenge, KeyPair keys) throws Exception {
        JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + aeId), keys.getPublic());
        if (challenge != null) {
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERPrintableString(challenge));
        }
        ExtensionsGenerator ext = new ExtensionsGenerator();
        ext.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, aeId)));
        ext.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(SUID_40_EKU))));
        b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
        return b.build(signer).getEncoded();
    }

    /** The challengePassword in a csrattrs response body (base64 of SEQUENCE OF AttrOrOID). */
    static String challengeFrom(byte[] csrattrsBody) {
        byte[] der = Base64.getMimeDecoder().decode(csrattrsBody);
        for (AttrOrOID a : CsrAttrs.getInstance(ASN1Sequence.getInstance(der)).getAttrOrOIDs()) {
            if (!a.isOid() && a.getAttribute().getAttrType().equals(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
                ASN1Encodable value = a.getAttribute().getAttrValues().getObjectAt(0);
                return value.toString();
            }
        }
        throw new IllegalStateException("no challengePassword in csrattrs");
    }
}
