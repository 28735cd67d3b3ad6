package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.token.TokenCommands;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.KeyNotFoundException;
import org.mefgateway.it.SoftHsm;

/** {@code mefgate token ...} on a real token: an RSA CA key certified by an external root, and an EC self-signed one. */
class TokenCommandsTest {
    static SoftHsm hsm;
    static GatewayConfig config;

    @BeforeAll
    static void configure() throws Exception {
        hsm = SoftHsm.fresh("tools-test");
        Path yaml = hsm.dir.resolve("mefgate.yaml");
        Files.writeString(yaml, String.join("\n",
                "dataDir: " + hsm.dir.resolve("var"),
                "hsm: {library: " + SoftHsm.LIBRARY + ", tokenLabel: tools-test, keyLabel: root-p256, pinFile: " + hsm.pinFile + ",",
                "      keys: {issuing: {keyLabel: issuing-rsa}}}",
                "ca: {subject: 'CN=Tools Test Root,O=MEF Gateway Tests', validityDays: 30}",
                ""));
        config = GatewayConfig.load(yaml);
    }

    static String run(String... args) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new TokenCommands(() -> config, new PrintStream(bytes, true, StandardCharsets.UTF_8)).run(List.of(args));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(out.contains(hsm.pin()), "the PIN is never printed");
        return out;
    }

    @Test
    void anRsaKeyIsCertifiedByAnExternalRootThroughACsrAndAnImport() throws Exception {
        Path csrFile = hsm.dir.resolve("issuing.csr");
        run("init-key", "--key", "issuing", "--algorithm", "rsa-2048", "--subject", "CN=Tools Issuing CA,O=MEF Gateway Tests");
        run("csr", "--key", "issuing", "--out", csrFile.toString());

        String pem = Files.readString(csrFile);
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(Base64.getMimeDecoder().decode(
                pem.replace("-----BEGIN CERTIFICATE REQUEST-----", "").replace("-----END CERTIFICATE REQUEST-----", "")));
        assertTrue(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getSubjectPublicKeyInfo())),
                "the CSR is signed by the token key");
        assertEquals("RSA", new JcaPKCS10CertificationRequest(csr).getPublicKey().getAlgorithm());

        // The external root, in software here, certifies the token key.
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair root = kpg.generateKeyPair();
        X500Name rootName = new X500Name("CN=External Root");
        Instant now = Instant.now();
        X509Certificate rootCert = certificate(new JcaX509v3CertificateBuilder(rootName, BigInteger.ONE, Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(30))), rootName, root.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true)), root);
        X509Certificate issued = certificate(new JcaX509v3CertificateBuilder(rootName, BigInteger.TWO, Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(20))), csr.getSubject(), new JcaPKCS10CertificationRequest(csr).getPublicKey())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign)), root);
        Path chain = hsm.dir.resolve("issuing-chain.pem");
        Pem.write(chain, issued, rootCert);

        String imported = run("import-cert", "--key", "issuing", "--cert", chain.toString());
        assertTrue(imported.contains("issued by CN=External Root"), imported);

        String list = run("list-keys", "--key", "issuing");
        String line = list.lines().filter(l -> l.contains("issuing-rsa")).findFirst().orElseThrow(() -> new AssertionError(list));
        assertTrue(line.contains("rsa-2048") && line.contains("issuer=CN=External Root") && line.contains("chain=2"), line);
    }

    @Test
    void aCertificateForAnotherKeyIsNotImported() throws Exception {
        run("init-key", "--key", "default", "--out", hsm.dir.resolve("root.pem").toString());
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair stranger = kpg.generateKeyPair();
        X500Name name = new X500Name("CN=Stranger");
        Instant now = Instant.now();
        X509Certificate cert = certificate(new JcaX509v3CertificateBuilder(name, BigInteger.TEN, Date.from(now),
                Date.from(now.plus(Duration.ofDays(1))), name, stranger.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true)), stranger);
        Path file = hsm.dir.resolve("stranger.pem");
        Pem.write(file, cert);

        HsmException e = assertThrows(HsmException.class, () -> run("import-cert", "--cert", file.toString()));
        assertTrue(e.getMessage().contains("public key differs"), e.getMessage());
        String list = run("list-keys");
        assertTrue(list.contains("root-p256  ec-p256  subject=CN=Tools Test Root,O=MEF Gateway Tests  self-signed"), list);
    }

    /** Renewal re-certifies an RA key the gateway made; a token without one gets a clear error, and nothing is generated. */
    @Test
    void renewingAnRaKeyThatIsNotOnTheTokenSaysSoAndMakesNone() throws Exception {
        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> run("renew-scep-ra", "--key", "issuing"));
        assertEquals("no SCEP RA key 'issuing-rsa-scep-ra' on token 'tools-test' (the gateway generates it when it starts,"
                + " as 'mefgate init' does)", e.getMessage());
        assertFalse(run("list-keys", "--key", "issuing").contains("scep-ra"), "no RA key was made");
    }

    private static X509Certificate certificate(X509v3CertificateBuilder builder, KeyPair signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }
}
