package org.mefgateway.hsm;

import java.io.IOException;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * A logged-in PKCS#11 token reached through its own SunPKCS11 provider instance.
 *
 * <p>CA keys are generated on the token with CKA_TOKEN, CKA_SENSITIVE and CKA_PRIVATE true and
 * CKA_EXTRACTABLE false (set through the provider's {@code attributes(generate, ...)} template),
 * so the private key can be used but never read. The CA certificate is stored next to the key:
 * SunPKCS11's KeyStore only lists private keys that have a certificate object beside them, and
 * that certificate is also how the key is found again on the next start.
 */
public final class Pkcs11Token implements AutoCloseable {
    private final HsmConfig config;
    private final long slot;
    private final Provider provider;
    private final KeyStore keyStore;

    private Pkcs11Token(HsmConfig config, long slot, Provider provider, KeyStore keyStore) {
        this.config = config;
        this.slot = slot;
        this.provider = provider;
        this.keyStore = keyStore;
    }

    /**
     * Loads the PKCS#11 library, finds the token by label and logs in with the configured PIN.
     * Every call makes a new SunPKCS11 provider instance (its own session pool and key handles):
     * this is also how a signer re-initialises after a token fault, without a JVM restart (when the
     * module itself lost the token, after initialising the module again: {@link Pkcs11Module}).
     */
    public static Pkcs11Token open(HsmConfig config) throws HsmException {
        return open(config, false);
    }

    /**
     * As {@link #open(HsmConfig)}, but RSA keys generated through this instance may decrypt as
     * well as sign: the SCEP RA key, which takes the content-encryption key of a pkcsPKIEnvelope
     * by RSA key transport (RFC 8894 3.2.2) and signs CertRep. Still not unwrap, not extractable.
     */
    public static Pkcs11Token openForDecryptingKey(HsmConfig config) throws HsmException {
        return open(config, true);
    }

    private static Pkcs11Token open(HsmConfig config, boolean rsaDecrypts) throws HsmException {
        String library = libraryPath(config);
        long slot = TokenSlots.slotOf(library, config.tokenLabel());
        char[] pin = Pin.read(config);
        try {
            // SunPKCS11 fails with a ProviderException (the PKCS#11 code as its cause) when the token
            // is gone between the slot lookup and here: the signer's recovery reads that code.
            Provider provider = Security.getProvider("SunPKCS11").configure("--" + providerConfig(library, slot, config, rsaDecrypts));
            KeyStore ks = KeyStore.getInstance("PKCS11", provider);
            ks.load(null, pin);
            return new Pkcs11Token(config, slot, provider, ks);
        } catch (IOException e) {
            throw new HsmException("cannot log in to token '" + config.tokenLabel() + "' (wrong PIN or token not ready)", e);
        } catch (Exception e) {
            throw new HsmException("cannot open token '" + config.tokenLabel() + "': " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(pin, '\0');
        }
    }

    /** The library's path as given to the JDK's wrapper, which loads each path string once per process. */
    static String libraryPath(HsmConfig config) {
        return config.library().toAbsolutePath().toString();
    }

    /**
     * The key template gives the CA key nothing but CKA_SIGN (SoftHSM would otherwise also allow
     * decrypt and unwrap) and labels both halves so that operators' tools show what they are.
     */
    private static String providerConfig(String library, long slot, HsmConfig config, boolean rsaDecrypts) {
        String name = "MEF-" + config.tokenLabel().replaceAll("[^A-Za-z0-9]", "_");
        String label = "0h" + java.util.HexFormat.of().formatHex(config.keyLabel().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return String.join("\n",
                "name = " + name,
                "library = " + library,
                "slot = " + slot,
                "attributes(generate, CKO_PRIVATE_KEY, CKK_EC) = {",
                "  CKA_TOKEN = true",
                "  CKA_PRIVATE = true",
                "  CKA_SENSITIVE = true",
                "  CKA_EXTRACTABLE = false",
                "  CKA_SIGN = true",
                "  CKA_DECRYPT = false",
                "  CKA_UNWRAP = false",
                "  CKA_DERIVE = false",
                "  CKA_LABEL = " + label,
                "}",
                "attributes(generate, CKO_PUBLIC_KEY, CKK_EC) = {",
                "  CKA_TOKEN = true",
                "  CKA_VERIFY = true",
                "  CKA_LABEL = " + label,
                "}",
                "attributes(generate, CKO_PRIVATE_KEY, CKK_RSA) = {",
                "  CKA_TOKEN = true",
                "  CKA_PRIVATE = true",
                "  CKA_SENSITIVE = true",
                "  CKA_EXTRACTABLE = false",
                "  CKA_SIGN = true",
                "  CKA_DECRYPT = " + rsaDecrypts,
                "  CKA_UNWRAP = false",
                "  CKA_LABEL = " + label,
                "}",
                "attributes(generate, CKO_PUBLIC_KEY, CKK_RSA) = {",
                "  CKA_TOKEN = true",
                "  CKA_VERIFY = true",
                "  CKA_ENCRYPT = false",
                "  CKA_WRAP = false",
                "  CKA_LABEL = " + label,
                "}",
                "");
    }

    public Provider provider() {
        return provider;
    }

    public HsmConfig config() {
        return config;
    }

    /** The PKCS#11 slot id the token label resolved to when this instance was opened. */
    public long slot() {
        return slot;
    }

    /** Whether the configured CA key (with its certificate) exists on the token. */
    public boolean hasCaKey() throws HsmException {
        try {
            return keyStore.isKeyEntry(config.keyLabel());
        } catch (KeyStoreException e) {
            throw new HsmException("cannot list keys on token '" + config.tokenLabel() + "'", e);
        }
    }

    /** Labels of the private keys on the token that have a certificate. */
    public List<String> keyLabels() throws HsmException {
        try {
            List<String> labels = new ArrayList<>();
            for (String alias : Collections.list(keyStore.aliases())) {
                if (keyStore.isKeyEntry(alias)) {
                    labels.add(alias);
                }
            }
            return labels;
        } catch (KeyStoreException e) {
            throw new HsmException("cannot list keys on token '" + config.tokenLabel() + "'", e);
        }
    }

    /** Looks the CA key and its certificate up once; the handle is kept by the returned CaKey. */
    public CaKey caKey() throws HsmException {
        return caKey(config.keyLabel());
    }

    private CaKey caKey(String label) throws HsmException {
        try {
            if (!keyStore.isKeyEntry(label)) {
                throw new KeyNotFoundException("no CA key '" + label + "' on token '" + config.tokenLabel() + "' (run 'mefgate init' first)");
            }
            PrivateKey key = (PrivateKey) keyStore.getKey(label, null);
            Certificate[] chain = keyStore.getCertificateChain(label);
            List<X509Certificate> certs = new ArrayList<>();
            for (Certificate c : chain) {
                certs.add((X509Certificate) c);
            }
            return new CaKey(label, key, certs, provider);
        } catch (HsmException e) {
            throw e;
        } catch (Exception e) {
            throw new HsmException("cannot read CA key '" + label + "' from token '" + config.tokenLabel() + "'", e);
        }
    }

    /**
     * Generates an EC P-256 CA key inside the token and stores a self-signed root certificate for
     * it beside the key. Refuses to overwrite an existing key of that label.
     */
    public CaKey createSelfSignedCa(String subjectDn, Duration validity) throws HsmException {
        return createSelfSignedCa(subjectDn, validity, KeyAlgorithm.EC_P256);
    }

    /**
     * Generates a CA key of the given algorithm inside the token (sensitive, not extractable,
     * sign-only) and stores a self-signed certificate for it beside the key. That certificate is
     * the root when the gateway is its own root; when an external root will certify the key, it is
     * only a placeholder until {@link #importCaCertificate} replaces it. Refuses to overwrite an
     * existing key of that label.
     */
    public CaKey createSelfSignedCa(String subjectDn, Duration validity, KeyAlgorithm algorithm) throws HsmException {
        if (hasCaKey()) {
            throw new HsmException("token '" + config.tokenLabel() + "' already has a CA key '" + config.keyLabel() + "'");
        }
        try {
            KeyPair pair = generate(algorithm);
            Instant now = Instant.now();
            X500Name subject = x500(subjectDn);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    subject, new BigInteger(127, new SecureRandom()), Date.from(now.minus(Duration.ofMinutes(1))),
                    Date.from(now.plus(validity)), subject, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
            X509CertificateHolder holder = builder.build(new TokenContentSigner(pair.getPrivate(), provider, algorithm));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holder);
            cert.verify(pair.getPublic());

            keyStore.setKeyEntry(config.keyLabel(), pair.getPrivate(), null, new Certificate[] {cert});
            return caKey();
        } catch (HsmException e) {
            throw e;
        } catch (Exception e) {
            throw new HsmException("cannot create the CA key on token '" + config.tokenLabel() + "': " + e.getMessage(), e);
        }
    }

    /**
     * Generates a signing key that is not a CA key (an OCSP responder's, for example) under the
     * configured key label, with the same protection as a CA key, and stores a self-signed
     * end-entity certificate beside it: SunPKCS11 finds a key again only through a certificate.
     * That certificate is a placeholder for finding the key; the one relying parties see is issued
     * by a CA key and kept off the token. Refuses to overwrite an existing key of that label.
     */
    public CaKey createSigningKey(String subjectDn, KeyAlgorithm algorithm) throws HsmException {
        if (hasCaKey()) {
            throw new HsmException("token '" + config.tokenLabel() + "' already has a key '" + config.keyLabel() + "'");
        }
        try {
            KeyPair pair = generate(algorithm);
            Instant now = Instant.now();
            X500Name subject = x500(subjectDn);
            X509CertificateHolder holder = new JcaX509v3CertificateBuilder(subject, new BigInteger(127, new SecureRandom()),
                    Date.from(now.minus(Duration.ofMinutes(1))), Date.from(now.plus(Duration.ofDays(3650))), subject, pair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .build(new TokenContentSigner(pair.getPrivate(), provider, algorithm));
            keyStore.setKeyEntry(config.keyLabel(), pair.getPrivate(), null,
                    new Certificate[] {new JcaX509CertificateConverter().getCertificate(holder)});
            return caKey();
        } catch (HsmException e) {
            throw e;
        } catch (Exception e) {
            throw new HsmException("cannot create key '" + config.keyLabel() + "' on token '" + config.tokenLabel() + "': "
                    + e.getMessage(), e);
        }
    }

    private KeyPair generate(KeyAlgorithm algorithm) throws java.security.GeneralSecurityException {
        if (algorithm == KeyAlgorithm.RSA_2048) {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA", provider);
            kpg.initialize(2048);
            return kpg.generateKeyPair();
        }
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", provider);
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        return kpg.generateKeyPair();
    }

    /**
     * A PKCS#10 request for the CA key, signed on the token, for an external root to certify
     * (basicConstraints CA and keyCertSign/cRLSign requested as extensions).
     */
    public PKCS10CertificationRequest certificationRequest(String subjectDn) throws HsmException {
        CaKey key = caKey();
        try {
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            ext.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            return new JcaPKCS10CertificationRequestBuilder(x500(subjectDn), key.publicKey())
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
                    .build(key.contentSigner());
        } catch (IOException e) {
            throw new HsmException("cannot encode the CSR: " + e.getMessage(), e);
        }
    }

    /**
     * Replaces the certificate stored beside the CA key with the one an external root issued
     * (and its chain up to the root). Refused unless the certificate is for exactly this key and
     * is a CA certificate: a wrong import would make the gateway sign under a name it has no key for.
     */
    public CaKey importCaCertificate(List<X509Certificate> chain) throws HsmException {
        CaKey key = caKey();
        X509Certificate issued = chain.get(0);
        if (!issued.getPublicKey().equals(key.publicKey())) {
            throw new HsmException("the certificate for " + issued.getSubjectX500Principal().getName()
                    + " is not for CA key '" + key.label() + "' (its public key differs)");
        }
        if (issued.getBasicConstraints() < 0) {
            throw new HsmException("the certificate for " + issued.getSubjectX500Principal().getName() + " is not a CA certificate");
        }
        for (int i = 0; i + 1 < chain.size(); i++) {
            try {
                chain.get(i).verify(chain.get(i + 1).getPublicKey());
            } catch (Exception e) {
                throw new HsmException("certificate " + i + " of the chain is not signed by certificate " + (i + 1));
            }
        }
        return replaceCertificates(key, chain);
    }

    /**
     * Replaces the self-signed placeholder stored beside a non-CA key (see {@link #createSigningKey})
     * with the certificate a CA key issued for it; refused unless it is for exactly this key.
     */
    public CaKey storeCertificate(X509Certificate issued) throws HsmException {
        CaKey key = caKey();
        if (!issued.getPublicKey().equals(key.publicKey())) {
            throw new HsmException("the certificate for " + issued.getSubjectX500Principal().getName()
                    + " is not for key '" + key.label() + "' (its public key differs)");
        }
        return replaceCertificates(key, List.of(issued));
    }

    private CaKey replaceCertificates(CaKey key, List<X509Certificate> chain) throws HsmException {
        try {
            // SunPKCS11 sees an entry whose certificate has the same public key and replaces the
            // certificate objects, keeping the private key object itself untouched.
            keyStore.setKeyEntry(key.label(), key.privateKey(), null, chain.toArray(Certificate[]::new));
            return caKey();
        } catch (KeyStoreException e) {
            throw new HsmException("cannot store the certificate on token '" + config.tokenLabel() + "': " + e.getMessage(), e);
        }
    }

    /** The CA keys on the token (private keys with a certificate), for operators' listings. */
    public List<CaKey> caKeys() throws HsmException {
        List<CaKey> keys = new ArrayList<>();
        for (String label : keyLabels()) {
            keys.add(caKey(label));
        }
        return keys;
    }

    /** RFC 4514 text as operators write it ("CN=..,O=.."), encoded most significant RDN first. */
    private static X500Name x500(String rfc4514) {
        return X500Name.getInstance(new X500Principal(rfc4514).getEncoded());
    }

    @Override
    public void close() {
        try {
            // Logging out closes the provider's sessions on the token.
            if (provider instanceof java.security.AuthProvider auth) {
                auth.logout();
            }
        } catch (Exception e) {
            // The token may already be gone; nothing left to release on our side.
        }
    }
}
