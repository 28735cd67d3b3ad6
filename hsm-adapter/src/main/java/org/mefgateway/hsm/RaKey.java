package org.mefgateway.hsm;

import java.math.BigInteger;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.function.Consumer;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.KeyTransRecipientId;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.operator.ContentSigner;

/**
 * The SCEP Registration Authority key (RFC 8894 2.1, 3.2.2): RSA-2048 generated inside the CA
 * key's token (sensitive, not extractable, CKA_SIGN and CKA_DECRYPT only), labelled after the CA
 * key + {@value #LABEL_SUFFIX}, with a certificate the CA key issued (digitalSignature +
 * keyEncipherment) stored beside it. SCEP clients encrypt their pkcsPKIEnvelope to it by RSA key
 * transport, the one scheme they all support, and the gateway signs CertRep with it.
 *
 * <p>Its methods call the token and block: callers run them on a worker pool (concurrently: the
 * provider instance keeps a pool of token sessions). A token fault while decrypting or signing
 * (as {@link Ckr} tells them apart from a bad envelope) is a {@link HsmUnavailableException}, not
 * the client's fault: the provider instance is dropped and the next call opens the token afresh,
 * re-initialising the PKCS#11 module when it has lost the token ({@link Pkcs11Module#cures}), as
 * the CA signer's recovery does; while that fails, calls fail at once for {@link #RETRY} without
 * touching the token. A reopened key is used only once a probe signature verifies under the RA
 * certificate's public key.
 */
public final class RaKey implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RaKey.class);
    static final String LABEL_SUFFIX = "-scep-ra";
    static final Duration VALIDITY = Duration.ofDays(730);

    /** Software AES-CBC for the envelope's content, once the token has taken the content-encryption key. */
    private static final java.security.Provider CONTENT = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    /** After a failed reopen, how long calls fail at once before the token is tried again. */
    static final Duration RETRY = Duration.ofSeconds(1);
    private static final byte[] PROBE = "mef-scep-ra-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /**
     * Codes a decryption returns for an envelope that is wrong, not for a token that is: the
     * encrypted content-encryption key does not decrypt under the RA key (PKCS#11 v2.40).
     */
    private static final java.util.Set<Long> BAD_ENVELOPE = java.util.Set.of(0x40L /* CKR_ENCRYPTED_DATA_INVALID */,
            0x41L /* CKR_ENCRYPTED_DATA_LEN_RANGE */, 0x110L /* CKR_WRAPPED_KEY_INVALID */, 0x112L /* CKR_WRAPPED_KEY_LEN_RANGE */);

    /** A logged-in provider instance, the RA key looked up through it, and the module epoch it was opened in. */
    private record Binding(Pkcs11Token token, CaKey key, long epoch) {
    }

    private final HsmConfig config;
    private final Pkcs11Module module;
    private final X509Certificate certificate;
    private Binding binding; // guarded by this; null after a fault until the next call opens the token again
    private long notBefore; // guarded by this: System.nanoTime() before which no reopen is tried

    private RaKey(HsmConfig config, Pkcs11Module module, Binding binding) {
        this.config = config;
        this.module = module;
        this.binding = binding;
        this.certificate = binding.key().certificate();
    }

    /** The RA key's place: the CA key's token, under {@link #label} of the CA key's label. */
    public static HsmConfig config(HsmConfig caToken) {
        return new HsmConfig(caToken.library(), caToken.tokenLabel(), label(caToken.keyLabel()), caToken.pinEnv(),
                caToken.pinFile(), 1, caToken.queueCapacity());
    }

    /** The label of the RA key of the CA key labelled {@code caKeyLabel}: that label + {@value #LABEL_SUFFIX}. */
    public static String label(String caKeyLabel) {
        return caKeyLabel + LABEL_SUFFIX;
    }

    /**
     * Generates the RA key on the CA key's token and has the CA key certify it, when it is not there
     * yet (reported through {@code out}); nothing when the CA key itself is not on the token.
     */
    public static void ensure(HsmConfig caToken, Consumer<String> out) throws HsmException {
        HsmConfig ra = config(caToken);
        try (Pkcs11Token token = Pkcs11Token.openForDecryptingKey(ra)) {
            if (token.hasCaKey()) {
                return;
            }
            Optional<CaKey> ca = caKey(token, caToken);
            if (ca.isEmpty()) {
                return;
            }
            CaKey placeholder = token.createSigningKey("CN=SCEP RA key of " + caToken.keyLabel(), KeyAlgorithm.RSA_2048);
            X509Certificate certificate = certify(placeholder, ca.get());
            token.storeCertificate(certificate);
            out.accept("generated SCEP RA key '" + ra.keyLabel() + "' (rsa-2048, sign and decrypt, sensitive, not extractable) on token '"
                    + ra.tokenLabel() + "' and its certificate " + certificate.getSubjectX500Principal().getName()
                    + " issued by CA key '" + caToken.keyLabel() + "'");
        }
    }

    /**
     * Renewal (issue 17: "{@code mefgate token} lists and renews it"): the CA key of
     * {@code caToken} certifies the same RA key again, with a new serial and {@link #VALIDITY}
     * bounded by the CA certificate, and the new certificate replaces the old one on the token. The
     * key stays, so what a device encrypts to it still decrypts (also under the old serial, see
     * {@link #decrypt}); the gateway reads the RA certificate when it starts and serves the new one
     * (GetCACert, RFC 8894 4.2.1.2) from then on. Returns the new certificate.
     *
     * @throws KeyNotFoundException when the token holds no RA key or no CA key of that label
     */
    public static X509Certificate renew(HsmConfig caToken) throws HsmException {
        try (Pkcs11Token token = Pkcs11Token.openForDecryptingKey(config(caToken))) {
            if (!token.hasCaKey()) {
                throw new KeyNotFoundException("no SCEP RA key '" + token.config().keyLabel() + "' on token '" + caToken.tokenLabel()
                        + "' (the gateway generates it when it starts, as 'mefgate init' does)");
            }
            CaKey ca = caKey(token, caToken).orElseThrow(() -> new KeyNotFoundException("no CA key '" + caToken.keyLabel()
                    + "' on token '" + caToken.tokenLabel() + "' to certify the SCEP RA key"));
            return token.storeCertificate(certify(token.caKey(), ca)).certificate();
        }
    }

    /** The CA key of {@code caToken} among the keys of {@code token} (opened for its RA key). */
    private static Optional<CaKey> caKey(Pkcs11Token token, HsmConfig caToken) throws HsmException {
        return token.caKeys().stream().filter(k -> k.label().equals(caToken.keyLabel())).findFirst();
    }

    /** RFC 8894 2.1: "CN=<CA's CN> SCEP RA", keyUsage digitalSignature (CertRep) and keyEncipherment (the envelope). */
    private static X509Certificate certify(CaKey raKey, CaKey ca) throws HsmException {
        try {
            X509Certificate caCert = ca.certificate();
            X500Name issuer = X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded());
            RDN[] cn = issuer.getRDNs(BCStyle.CN);
            String caName = cn.length == 0 ? caCert.getSubjectX500Principal().getName()
                    : IETFUtils.valueToString(cn[0].getFirst().getValue());
            Instant now = Instant.now();
            Instant notAfter = now.plus(VALIDITY).isBefore(caCert.getNotAfter().toInstant()) ? now.plus(VALIDITY)
                    : caCert.getNotAfter().toInstant();
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(issuer,
                    new BigInteger(127, new SecureRandom()), Date.from(now.minus(Duration.ofMinutes(1))), Date.from(notAfter),
                    new X500Name(new RDN[] {new RDN(BCStyle.CN, new org.bouncycastle.asn1.DERUTF8String(caName + " SCEP RA"))}),
                    raKey.publicKey())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(raKey.publicKey()))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert))
                    .build(ca.contentSigner()));
            cert.verify(caCert.getPublicKey());
            return cert;
        } catch (Exception e) {
            throw new HsmException("cannot certify the SCEP RA key: " + e.getMessage(), e);
        }
    }

    /** Opens the RA key of the CA key on {@code caToken} ({@link #ensure} made it). */
    public static RaKey open(HsmConfig caToken) throws HsmException {
        HsmConfig ra = config(caToken);
        Pkcs11Module module = Pkcs11Module.of(ra);
        return new RaKey(ra, module, bind(ra, module));
    }

    private static Binding bind(HsmConfig ra, Pkcs11Module module) throws HsmException {
        Lock inUse = module.inUse();
        inUse.lock();
        try {
            long epoch = module.epoch();
            Pkcs11Token token = Pkcs11Token.openForDecryptingKey(ra);
            try {
                return new Binding(token, token.caKey(), epoch);
            } catch (HsmException | RuntimeException e) {
                token.close();
                throw e;
            }
        } finally {
            inUse.unlock();
        }
    }

    /** The RA certificate, issued by the CA key. */
    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * SHA-256 with RSA on the token, for CertRep's signature (RFC 8894 3.3.2). A token fault makes
     * {@code getSignature} throw an unchecked exception caused by a {@link HsmUnavailableException}.
     */
    public ContentSigner contentSigner() {
        java.io.ByteArrayOutputStream content = new java.io.ByteArrayOutputStream(1024);
        return new ContentSigner() {
            @Override
            public org.bouncycastle.asn1.x509.AlgorithmIdentifier getAlgorithmIdentifier() {
                return KeyAlgorithm.RSA_2048.algorithmId();
            }

            @Override
            public java.io.OutputStream getOutputStream() {
                return content;
            }

            @Override
            public byte[] getSignature() {
                try {
                    return use(key -> sign(key, content.toByteArray()));
                } catch (HsmUnavailableException e) {
                    throw new org.bouncycastle.operator.RuntimeOperatorException("the SCEP RA key is unavailable: " + e.getMessage(), e);
                } catch (CMSException e) {
                    throw new IllegalStateException(e); // not thrown by signing
                }
            }
        };
    }

    private static byte[] sign(CaKey key, byte[] content) {
        ContentSigner signer = key.contentSigner();
        try {
            signer.getOutputStream().write(content);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not throw
        }
        return signer.getSignature();
    }

    /**
     * The content of a pkcsPKIEnvelope addressed to this RA certificate: the content-encryption key
     * is taken by RSA PKCS#1 v1.5 key transport on the token, the content decrypted in software.
     *
     * <p>An envelope addressed to an earlier certificate of this key (issued by the same CA, before
     * {@code mefgate token renew-scep-ra} certified the same key again under a new serial) is taken
     * too: the key behind it is the same, so a device that kept the old RA certificate keeps
     * enrolling. Only a single key-transport recipient of this issuer is tried that way; an envelope
     * for another of the CA's certificates does not decrypt and is refused as one that does not.
     *
     * @throws CMSException when the envelope has no recipient for this certificate or does not decrypt
     */
    public byte[] decrypt(CMSEnvelopedData envelope) throws CMSException, HsmUnavailableException {
        X500Name issuer = X500Name.getInstance(certificate().getIssuerX500Principal().getEncoded());
        RecipientInformation recipient = envelope.getRecipientInfos().get(new KeyTransRecipientId(issuer, certificate().getSerialNumber()));
        if (recipient == null) {
            java.util.List<RecipientInformation> ofThisIssuer = envelope.getRecipientInfos().getRecipients().stream()
                    .filter(r -> r.getRID() instanceof KeyTransRecipientId id && issuer.equals(id.getIssuer()))
                    .toList();
            if (ofThisIssuer.size() != 1) {
                throw new CMSException("the envelope is not encrypted to the RA certificate (serial "
                        + certificate().getSerialNumber().toString(16) + ")");
            }
            recipient = ofThisIssuer.get(0);
        }
        RecipientInformation addressed = recipient;
        return use(key -> addressed.getContent(new JceKeyTransEnvelopedRecipient(key.privateKey())
                .setProvider(key.provider())
                .setContentProvider(CONTENT)));
    }

    /** One use of the RA key on the token. */
    private interface KeyUse<T> {
        T apply(CaKey key) throws CMSException;
    }

    /** Runs {@code work} with the RA key of the current provider instance; a token fault drops that instance. */
    private <T> T use(KeyUse<T> work) throws CMSException, HsmUnavailableException {
        Binding b = current();
        try {
            return underModuleLock(b, work);
        } catch (CMSException | RuntimeException e) {
            Optional<String> fault = tokenFault(e);
            if (fault.isEmpty() || tokenAnswers(b)) {
                throw e;
            }
            if (drop(b)) {
                LOG.error("SCEP RA key on token '{}' failed ({}: {}): opened again at the next use", config.tokenLabel(), fault.get(),
                        e.getMessage());
            }
            throw unavailable("the token failed (" + fault.get() + ")");
        }
    }

    /**
     * Whether the token still signs a probe with the RA key. A code alone does not tell a bad
     * envelope from a lost token: SoftHSM2 answers an envelope whose key does not unpad with
     * CKR_GENERAL_ERROR, the code it also gives once its storage is gone.
     */
    private boolean tokenAnswers(Binding b) {
        Lock inUse = module.inUse();
        inUse.lock();
        try {
            if (b.epoch() != module.epoch()) {
                return false;
            }
            requireSameKey(b.key());
            return true;
        } catch (HsmException | RuntimeException probeFailed) {
            return false;
        } finally {
            inUse.unlock();
        }
    }

    /** Under the module's shared lock, as the CA signers sign: a module reload waits for this use. */
    private <T> T underModuleLock(Binding b, KeyUse<T> work) throws CMSException, HsmUnavailableException {
        Lock inUse = module.inUse();
        inUse.lock();
        try {
            if (b.epoch() != module.epoch()) {
                drop(b);
                throw unavailable("the PKCS#11 module was re-initialised since the RA key was opened");
            }
            return work.apply(b.key());
        } finally {
            inUse.unlock();
        }
    }

    /** The binding to use: the current one, or a fresh provider instance after a fault or a module reload. */
    private synchronized Binding current() throws HsmUnavailableException {
        if (binding != null && binding.epoch() == module.epoch()) {
            return binding;
        }
        binding = null;
        if (System.nanoTime() - notBefore < 0) {
            throw unavailable("being opened again");
        }
        try {
            long epoch = module.epoch();
            Binding fresh;
            try {
                fresh = bind(config, module);
            } catch (HsmException | RuntimeException e) {
                if (!Pkcs11Module.cures(e)) {
                    throw e;
                }
                module.reload(epoch);
                fresh = bind(config, module);
            }
            requireSameKey(fresh.key());
            binding = fresh;
            LOG.info("SCEP RA key on token '{}' opened again", config.tokenLabel());
            return fresh;
        } catch (HsmException | RuntimeException e) {
            notBefore = System.nanoTime() + RETRY.toNanos();
            LOG.warn("SCEP RA key on token '{}' cannot be opened again ({}); retried at a use after {} s", config.tokenLabel(),
                    e.getMessage(), RETRY.toSeconds());
            throw unavailable("cannot open it again: " + e.getMessage());
        }
    }

    /** The certificate stored beside the key is only a label: a probe signature proves it is the RA key. */
    private void requireSameKey(CaKey key) throws HsmException {
        try {
            java.security.Signature verify = java.security.Signature.getInstance(KeyAlgorithm.RSA_2048.signatureAlgorithm());
            verify.initVerify(certificate.getPublicKey());
            verify.update(PROBE);
            if (!verify.verify(sign(key, PROBE))) {
                throw new HsmException("the key under label '" + config.keyLabel() + "' is not the RA key this gateway started with");
            }
        } catch (java.security.GeneralSecurityException e) {
            throw new HsmException("cannot check the RA key: " + e.getMessage(), e);
        }
    }

    /**
     * Not logged out: PKCS#11 login state belongs to the whole process and the CA key's signers use
     * the same token (as TokenSigner leaves a dropped instance).
     */
    private synchronized boolean drop(Binding failed) {
        if (binding != failed) {
            return false;
        }
        binding = null;
        return true;
    }

    /**
     * A failure of the token rather than of the envelope: a PKCS#11 code that {@link Ckr} counts as
     * a token fault and is not one of {@link #BAD_ENVELOPE}, or SunPKCS11's own ProviderException
     * without a code ("token has been removed"). Anything else (no recipient, a software AES
     * failure) is the envelope's.
     */
    static Optional<String> tokenFault(Throwable failure) {
        boolean providerException = false;
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof sun.security.pkcs11.wrapper.PKCS11Exception p) {
                long code = p.getErrorCode();
                return Ckr.isTokenFault(code) && !BAD_ENVELOPE.contains(code) ? Optional.of(Ckr.name(code)) : Optional.empty();
            }
            providerException |= c instanceof java.security.ProviderException;
        }
        return providerException ? Optional.of("NO_CKR") : Optional.empty();
    }

    private HsmUnavailableException unavailable(String why) {
        return new HsmUnavailableException("the SCEP RA key on token '" + config.tokenLabel() + "' is unavailable: " + why);
    }

    @Override
    public synchronized void close() {
        if (binding != null) {
            binding.token().close();
        }
    }
}
