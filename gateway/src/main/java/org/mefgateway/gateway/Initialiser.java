package org.mefgateway.gateway;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.mefgateway.gateway.ca.DelegatedResponder;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.hsm.CaKey;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.hsm.RaKey;

/**
 * {@code mefgate init}: everything a gateway needs before its first start, created once and kept
 * on later runs. The CA key is generated inside the token, and beside each CA key its OCSP
 * responder's key, and beside the default one the SCEP RA key ({@link RaKey}); the TLS server key and the operator key are ordinary software keys in
 * owner-only PKCS#12 files under the data directory.
 */
public final class Initialiser {
    private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]+|.*:.*");
    private static final Duration TLS_VALIDITY = Duration.ofDays(397);

    private final GatewayConfig config;
    private final Consumer<String> out;

    public Initialiser(GatewayConfig config, Consumer<String> out) {
        this.config = config;
        this.out = out;
    }

    public void run() throws Exception {
        DataDir data = config.dataDir();
        try (Pkcs11Token token = Pkcs11Token.open(config.hsm())) {
            CaKey ca;
            if (token.hasCaKey()) {
                ca = token.caKey();
                out.accept("CA key '" + ca.label() + "' already on token '" + config.hsm().tokenLabel() + "': kept");
            } else {
                ca = token.createSelfSignedCa(config.ca().subject(), config.ca().validity());
                out.accept("generated CA key '" + ca.label() + "' (EC P-256, sensitive, not extractable) on token '"
                        + config.hsm().tokenLabel() + "' and its self-signed certificate " + ca.certificate().getSubjectX500Principal().getName());
            }
            Pem.write(data.caCertificate(), ca.certificate());
            out.accept("CA certificate: " + data.caCertificate());

            if (Files.exists(data.tlsServerKeyStore())) {
                out.accept("TLS server certificate: kept " + data.tlsServerKeyStore());
            } else {
                writeServerCredential(ca);
                out.accept("TLS server certificate for " + config.est().serverNames() + ": " + data.tlsServerKeyStore());
            }
            Files.createDirectories(config.est().bootstrapTrustDir());
        }
        // After the CA key's session is closed: each token is opened again for its responder key.
        for (CaKeyConfig key : config.caKeys()) {
            DelegatedResponder.ensureKey(key, out);
        }
        RaKey.ensure(config.hsm(), out);
        if (Files.exists(data.operatorKeyStore())) {
            out.accept("operator credential: kept " + data.operatorKeyStore());
        } else {
            writeOperatorCredential();
            out.accept("operator credential (pinned by the admin listener): " + data.operatorKeyStore());
        }
        data.restrictToOwner();
    }

    /** The EST/admin server certificate: issued by our CA so that Enrolees need one trust anchor. */
    private void writeServerCredential(CaKey ca) throws Exception {
        KeyPair pair = newKeyPair();
        List<GeneralName> names = new ArrayList<>();
        for (String name : config.est().serverNames()) {
            names.add(IP_LITERAL.matcher(name).matches()
                    ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(name).getHostAddress())
                    : new GeneralName(GeneralName.dNSName, name));
        }
        Instant now = Instant.now();
        Instant notAfter = min(now.plus(TLS_VALIDITY), ca.certificate().getNotAfter().toInstant());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded()), Serials.next(),
                Date.from(now.minus(Duration.ofMinutes(1))), Date.from(notAfter),
                dn("CN=" + config.est().serverNames().get(0) + ",O=MEF Gateway"), pair.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)))
                .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()))
                .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.certificate()));
        X509Certificate cert = certificate(builder, ca.contentSigner());
        cert.verify(ca.certificate().getPublicKey());
        writePkcs12(config.dataDir().tlsServerKeyStore(), config.dataDir().tlsServerPassword(), "server", pair.getPrivate(),
                cert, ca.certificate());
    }

    /**
     * The operator's admin credential: self-signed and pinned (its certificate is placed in the
     * operators directory), so that no certificate the CA issues to devices can ever act as admin.
     */
    private void writeOperatorCredential() throws Exception {
        KeyPair pair = newKeyPair();
        Instant now = Instant.now();
        X500Name subject = dn("CN=mef-operator,O=MEF Gateway");
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, Serials.next(),
                Date.from(now.minus(Duration.ofMinutes(1))), Date.from(now.plus(Duration.ofDays(825))), subject, pair.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        X509Certificate cert = certificate(builder, new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
        DataDir data = config.dataDir();
        writePkcs12(data.operatorKeyStore(), data.operatorPassword(), "operator", pair.getPrivate(), cert);
        Pem.write(data.operatorsDir().resolve("operator.pem"), cert);
    }

    /** RFC 4514 text as operators write it ("CN=..,O=.."), encoded most significant RDN first. */
    private static X500Name dn(String rfc4514) {
        return X500Name.getInstance(new X500Principal(rfc4514).getEncoded());
    }

    private static KeyPair newKeyPair() throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        return kpg.generateKeyPair();
    }

    private static X509Certificate certificate(X509v3CertificateBuilder builder, ContentSigner signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static void writePkcs12(java.nio.file.Path file, java.nio.file.Path passwordFile, String alias, PrivateKey key,
                                    X509Certificate... chain) throws Exception {
        char[] password = PrivateFiles.newPassword(passwordFile);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(alias, key, password, chain);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ks.store(bytes, password);
        PrivateFiles.write(file, bytes.toByteArray());
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
