package org.mefgateway.it;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A stand-in for a device manufacturer: a software CA that signs bootstrap certificates. The
 * operator trusts its CA certificate for Enrolee authentication.
 */
public final class DeviceMaker {
    final KeyPair caKeys;
    public final X509Certificate caCertificate;

    private DeviceMaker(KeyPair caKeys, X509Certificate caCertificate) {
        this.caKeys = caKeys;
        this.caCertificate = caCertificate;
    }

    public static DeviceMaker create(String name) throws Exception {
        KeyPair keys = ecKeys();
        X500Name subject = new X500Name("CN=" + name + ",O=Test Device Maker");
        Instant now = Instant.now();
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(subject,
                BigInteger.valueOf(new SecureRandom().nextInt(Integer.MAX_VALUE)), Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(365))), subject, keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        return new DeviceMaker(keys, cert);
    }

    /** A device with a fresh key pair and a bootstrap certificate from this maker. */
    public Device device(String serialNumber) throws Exception {
        Instant now = Instant.now();
        return device(serialNumber, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)));
    }

    /** A device whose bootstrap certificate expired yesterday. */
    public Device expiredDevice(String serialNumber) throws Exception {
        Instant now = Instant.now();
        return device(serialNumber, now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)));
    }

    private Device device(String serialNumber, Instant notBefore, Instant notAfter) throws Exception {
        KeyPair keys = ecKeys();
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                X500Name.getInstance(caCertificate.getSubjectX500Principal().getEncoded()),
                BigInteger.valueOf(new SecureRandom().nextInt(Integer.MAX_VALUE)), Date.from(notBefore),
                Date.from(notAfter), new X500Name("CN=" + serialNumber + ",O=Test Device Maker"), keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        return new Device(serialNumber, keys, cert, caCertificate);
    }

    static KeyPair ecKeys() throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        return kpg.generateKeyPair();
    }

    /** A device's bootstrap credential. */
    public record Device(String name, KeyPair keys, X509Certificate certificate, X509Certificate makerCa) {
        public static final char[] PASSWORD = "bootstrap-test-password".toCharArray();

        public KeyStore keyStore() throws Exception {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("bootstrap", keys.getPrivate(), PASSWORD, new java.security.cert.Certificate[] {certificate, makerCa});
            // Round trip through bytes, as a device would read its credential from a file.
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ks.store(out, PASSWORD);
            KeyStore loaded = KeyStore.getInstance("PKCS12");
            loaded.load(new ByteArrayInputStream(out.toByteArray()), PASSWORD);
            return loaded;
        }
    }
}
