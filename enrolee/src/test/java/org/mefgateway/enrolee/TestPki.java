package org.mefgateway.enrolee;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A small CA for tests: EC P-256 keys, ECDSA-SHA256 signatures, like the MEF's CA. */
final class TestPki {
    private static final AtomicLong SERIALS = new AtomicLong(1000);

    final KeyPair keyPair;
    final X509Certificate certificate;

    private TestPki(KeyPair keyPair, X509Certificate certificate) {
        this.keyPair = keyPair;
        this.certificate = certificate;
    }

    static TestPki ca(String name) throws Exception {
        KeyPair keyPair = Csr.generateKeyPair();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder builder = builder(subject, subject, keyPair.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        return new TestPki(keyPair, sign(builder, keyPair));
    }

    /** An intermediate CA certified by this CA. */
    TestPki subordinate(String name) throws Exception {
        KeyPair subordinateKeys = Csr.generateKeyPair();
        X509v3CertificateBuilder builder = builder(new X500Name(certificate.getSubjectX500Principal().getName()),
                new X500Name("CN=" + name), subordinateKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        return new TestPki(subordinateKeys, sign(builder, keyPair));
    }

    /** An end-entity certificate as the MEF's CA would issue it. */
    X509Certificate issue(PublicKey key, String cn, GeneralNames san, int keyUsage, KeyPurposeId... ekus) throws Exception {
        Instant now = Instant.now();
        return issue(new X500Name("CN=" + cn), key, san, now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(30)),
                keyUsage, ekus);
    }

    /** An end-entity certificate with the given subject and validity. */
    X509Certificate issue(X500Name subject, PublicKey key, GeneralNames san, Instant notBefore, Instant notAfter,
                          int keyUsage, KeyPurposeId... ekus) throws Exception {
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(notBefore), Date.from(notAfter), subject, key)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage))
                .addExtension(Extension.subjectAlternativeName, false, san);
        if (ekus.length > 0) {
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(ekus));
        }
        return sign(builder, keyPair);
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, PublicKey key) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIALS.incrementAndGet()),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(30))), subject, key);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }
}
