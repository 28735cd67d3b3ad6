package org.mefgateway.hsm;

import java.math.BigInteger;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
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
 * <p>Its methods call the token and block: callers run them on a worker pool.
 */
public final class RaKey implements AutoCloseable {
    static final String LABEL_SUFFIX = "-scep-ra";
    static final Duration VALIDITY = Duration.ofDays(730);

    /** Software AES-CBC for the envelope's content, once the token has taken the content-encryption key. */
    private static final java.security.Provider CONTENT = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    private final Pkcs11Token token;
    private final CaKey key;

    private RaKey(Pkcs11Token token, CaKey key) {
        this.token = token;
        this.key = key;
    }

    /** The RA key's place: the CA key's token, under the CA key's label + {@value #LABEL_SUFFIX}. */
    public static HsmConfig config(HsmConfig caToken) {
        return new HsmConfig(caToken.library(), caToken.tokenLabel(), caToken.keyLabel() + LABEL_SUFFIX, caToken.pinEnv(),
                caToken.pinFile(), 1, caToken.queueCapacity());
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
            Optional<CaKey> ca = token.caKeys().stream().filter(k -> k.label().equals(caToken.keyLabel())).findFirst();
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

    /** RFC 8894 2.1: "CN=<CA's CN> SCEP RA", keyUsage digitalSignature (CertRep) and keyEncipherment (the envelope). */
    static X509Certificate certify(CaKey raKey, CaKey ca) throws HsmException {
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
        Pkcs11Token token = Pkcs11Token.openForDecryptingKey(config(caToken));
        try {
            return new RaKey(token, token.caKey());
        } catch (HsmException | RuntimeException e) {
            token.close();
            throw e;
        }
    }

    /** The RA certificate, issued by the CA key. */
    public X509Certificate certificate() {
        return key.certificate();
    }

    /** SHA-256 with RSA on the token, for CertRep's signature (RFC 8894 3.3.2). */
    public ContentSigner contentSigner() {
        return key.contentSigner();
    }

    /**
     * The content of a pkcsPKIEnvelope addressed to this RA certificate: the content-encryption key
     * is taken by RSA PKCS#1 v1.5 key transport on the token, the content decrypted in software.
     *
     * @throws CMSException when the envelope has no recipient for this certificate or does not decrypt
     */
    public byte[] decrypt(CMSEnvelopedData envelope) throws CMSException {
        RecipientInformation recipient = envelope.getRecipientInfos().get(new KeyTransRecipientId(
                X500Name.getInstance(certificate().getIssuerX500Principal().getEncoded()), certificate().getSerialNumber()));
        if (recipient == null) {
            throw new CMSException("the envelope is not encrypted to the RA certificate (serial "
                    + certificate().getSerialNumber().toString(16) + ")");
        }
        return recipient.getContent(new JceKeyTransEnvelopedRecipient(key.privateKey())
                .setProvider(key.provider())
                .setContentProvider(CONTENT));
    }

    @Override
    public void close() {
        token.close();
    }
}
