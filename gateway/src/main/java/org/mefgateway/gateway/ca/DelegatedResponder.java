package org.mefgateway.gateway.ca;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.ResponderID;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.mefgateway.gateway.store.IssuerKeyId;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.CaKey;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.Pkcs11Token;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The delegated OCSP responder of one CA key (RFC 6960 4.2.2.2): a key of its own on the CA key's
 * token (label: the CA key's label + {@value #LABEL_SUFFIX}), certified by the CA key for
 * {@link #VALIDITY} with id-kp-OCSPSigning and id-pkix-ocsp-nocheck (relying parties need not check
 * the responder's own revocation, RFC 6960 4.2.2.2.1: its short life is the limit). OCSP answers are
 * signed with it, so the CA key signs once per renewal instead of once per answer. The certificate
 * is kept in the store, never written to the token (no token writes while signing), so every node
 * finds the newest; it is renewed when less than {@link #RENEW_BEFORE} is left, by the minute
 * check or by the next answer that needs signing, whichever comes first.
 */
public final class DelegatedResponder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DelegatedResponder.class);
    static final String LABEL_SUFFIX = "-ocsp";
    static final Duration VALIDITY = Duration.ofDays(7);
    static final Duration RENEW_BEFORE = Duration.ofDays(3);

    /** A responder certificate: the ASN.1 to put into answers, and when it ends. */
    record Certified(org.bouncycastle.asn1.x509.Certificate certificate, Instant notAfter) {
        BigInteger serial() {
            return certificate.getSerialNumber().getValue();
        }
    }

    /** issuerNameHash and issuerKeyHash of the CA under one hash algorithm (RFC 6960 4.1.1). */
    record IssuerHashes(byte[] name, byte[] key) {
    }

    private final String caKey;
    private final CaSigner ca;
    private final CaSigner signer;
    private final Store store;
    private final Clock clock;
    private final String issuerKeyId;
    private final X500Name issuer;
    private final X500Name subject;
    /** Per CertID hash algorithm we answer for: SHA-1 (RFC 5019 2.1.1) and SHA-256. */
    private final Map<ASN1ObjectIdentifier, IssuerHashes> hashes;
    private final ResponderID responderId;
    private volatile Certified current;

    private DelegatedResponder(CaSigner ca, CaSigner signer, Store store, Clock clock) {
        this.caKey = ca.name();
        this.ca = ca;
        this.signer = signer;
        this.store = store;
        this.clock = clock;
        this.issuerKeyId = IssuerKeyId.of(ca.publicKey());
        X500Principal caName = ca.certificate().getSubjectX500Principal();
        this.issuer = X500Name.getInstance(caName.getEncoded());
        this.subject = X500Name.getInstance(new X500Principal("CN=OCSP Responder," + caName.getName()).getEncoded());
        byte[] caKeyBits = keyBits(ca);
        this.hashes = Map.of(
                OIWObjectIdentifiers.idSHA1, new IssuerHashes(digest("SHA-1", caName.getEncoded()), digest("SHA-1", caKeyBits)),
                NISTObjectIdentifiers.id_sha256, new IssuerHashes(digest("SHA-256", caName.getEncoded()), digest("SHA-256", caKeyBits)));
        // RFC 6960 4.2.1 / RFC 5019 2.2.2: byKey, the SHA-1 of the responder's public key.
        this.responderId = new ResponderID(new DEROctetString(digest("SHA-1", keyBits(signer))));
    }

    /** The responder key's label on the token, from its CA key's label. */
    static String keyLabel(String caKeyLabel) {
        return caKeyLabel + LABEL_SUFFIX;
    }

    /**
     * The responder key as a signer configuration: on the CA key's first token, one worker (it signs
     * once per certificate status and refresh period, not per request), named {@code <CA key>/ocsp}
     * in the {@code mef_hsm_*} meters.
     */
    static CaKeyConfig keyConfig(CaKeyConfig caKeyConfig) {
        HsmConfig t = caKeyConfig.primary();
        return new CaKeyConfig(caKeyConfig.name() + "/ocsp", List.of(new HsmConfig(t.library(), t.tokenLabel(),
                keyLabel(t.keyLabel()), t.pinEnv(), t.pinFile(), 1, t.queueCapacity())));
    }

    /**
     * Generates the responder key of {@code caKeyConfig} on its token if it is not there yet (same
     * algorithm as the CA key, sensitive, not extractable); nothing when the CA key itself is not on
     * the token yet. Writes to the token: run only before any signer of the token is opened.
     */
    public static void ensureKey(CaKeyConfig caKeyConfig, Consumer<String> out) throws HsmException {
        HsmConfig responder = keyConfig(caKeyConfig).primary();
        try (Pkcs11Token token = Pkcs11Token.open(responder)) {
            if (token.hasCaKey()) {
                return;
            }
            Optional<CaKey> caKey = token.caKeys().stream().filter(k -> k.label().equals(caKeyConfig.primary().keyLabel())).findFirst();
            if (caKey.isEmpty()) {
                return;
            }
            token.createSigningKey("CN=OCSP responder key of " + caKeyConfig.name(), caKey.get().algorithm());
            out.accept("generated OCSP responder key '" + responder.keyLabel() + "' (" + caKey.get().algorithm().cliName()
                    + ", sensitive, not extractable) on token '" + responder.tokenLabel() + "' for CA key '" + caKeyConfig.name() + "'");
        }
    }

    /** Opens the responder key of the CA key signed by {@code ca}; its certificate comes with the first {@link #certificate}. */
    public static DelegatedResponder open(CaSigner ca, CaKeyConfig caKeyConfig, Store store, Clock clock, MeterRegistry meters)
            throws HsmException {
        DelegatedResponder responder = new DelegatedResponder(ca, CaSigner.open(keyConfig(caKeyConfig), meters), store, clock);
        Gauge.builder("mef.ocsp.responder.certificate.not.after", responder, r -> {
                    Certified c = r.current;
                    return c == null ? Double.NaN : c.notAfter().getEpochSecond();
                })
                .description("notAfter of the OCSP responder certificate in use, in seconds since the epoch; renewed when "
                        + RENEW_BEFORE.toDays() + " days are left")
                .tag("key", responder.caKey)
                .baseUnit("seconds")
                .register(meters);
        return responder;
    }

    /** The CA key's name in the configuration. */
    public String caKey() {
        return caKey;
    }

    /** The ledger's id of the CA key ({@link IssuerKeyId}). */
    String issuerKeyId() {
        return issuerKeyId;
    }

    /** The CA's hashes under {@code hash}, or empty for a hash algorithm we do not answer for. */
    Optional<IssuerHashes> issuerHashes(ASN1ObjectIdentifier hash) {
        return Optional.ofNullable(hashes.get(hash));
    }

    /** Whether a CertID's issuer hashes (under {@code hash}) name this CA. */
    boolean issued(ASN1ObjectIdentifier hash, byte[] nameHash, byte[] keyHash) {
        IssuerHashes mine = hashes.get(hash);
        return mine != null && Arrays.equals(mine.name(), nameHash) && Arrays.equals(mine.key(), keyHash);
    }

    ResponderID responderId() {
        return responderId;
    }

    AlgorithmIdentifier signatureAlgorithm() {
        return signer.algorithm();
    }

    /** Signs a DER ResponseData with the responder key on the token (the pooled signer: asynchronous). */
    CompletionStage<byte[]> sign(byte[] responseData) {
        return signer.sign(responseData);
    }

    /**
     * The responder certificate to sign with now: the one in use, or the newest another node stored,
     * or a new one the CA key signs (one CA-key signature per renewal). When renewing fails (the
     * HSM is down) a certificate that is still valid is used. Blocking: run on a worker.
     */
    synchronized Certified certificate() {
        Instant now = clock.instant();
        Certified inUse = current;
        if (inUse != null && !due(inUse, now)) {
            return inUse;
        }
        Optional<Certified> stored = newestStored(now);
        if (stored.isPresent() && !due(stored.get(), now)) {
            current = stored.get();
            return current;
        }
        try {
            current = issue(now);
            return current;
        } catch (RuntimeException e) {
            Certified usable = stored.orElse(inUse);
            if (usable != null && now.isBefore(usable.notAfter())) {
                LOG.warn("OCSP responder certificate of CA key '{}' not renewed ({}); the current one is valid until {}",
                        caKey, e.toString(), usable.notAfter());
                current = usable;
                return usable;
            }
            throw e;
        }
    }

    /** The minute check: makes sure a certificate is at hand, renewed if due. Blocking: run on a worker. */
    public void renewIfDue() {
        certificate();
    }

    private static boolean due(Certified c, Instant now) {
        return !now.isBefore(c.notAfter().minus(RENEW_BEFORE));
    }

    /** The newest stored certificate for this responder key (a replaced key's certificates are skipped). */
    private Optional<Certified> newestStored(Instant now) {
        SubjectPublicKeyInfo key = SubjectPublicKeyInfo.getInstance(signer.publicKey().getEncoded());
        for (byte[] der : store.responderCertificates(caKey, now)) {
            org.bouncycastle.asn1.x509.Certificate c = org.bouncycastle.asn1.x509.Certificate.getInstance(der);
            if (c.getSubjectPublicKeyInfo().equals(key) && !c.getStartDate().getDate().toInstant().isAfter(now)) {
                return Optional.of(new Certified(c, c.getEndDate().getDate().toInstant()));
            }
        }
        return Optional.empty();
    }

    private Certified issue(Instant now) {
        Instant notBefore = now.truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofMinutes(1));
        Instant caNotAfter = ca.certificate().getNotAfter().toInstant();
        Instant notAfter = now.truncatedTo(ChronoUnit.SECONDS).plus(VALIDITY);
        notAfter = notAfter.isAfter(caNotAfter) ? caNotAfter : notAfter;
        BigInteger serial = Serials.next();
        SubjectPublicKeyInfo key = SubjectPublicKeyInfo.getInstance(signer.publicKey().getEncoded());
        try {
            X509CertificateHolder holder = new X509v3CertificateBuilder(issuer, serial, Date.from(notBefore), Date.from(notAfter), subject, key)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_OCSPSigning))
                    .addExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nocheck, false, DERNull.INSTANCE)
                    .addExtension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(digest("SHA-1", keyBits(signer))))
                    .addExtension(Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(digest("SHA-1", keyBits(ca))))
                    .build(new HsmContentSigner(ca));
            store.recordResponderCertificate(caKey, serial.toString(16), notBefore, notAfter, holder.getEncoded(), now)
                    .toCompletableFuture().join();
            LOG.info("OCSP responder certificate {} of CA key '{}' issued, valid until {}", serial.toString(16), caKey, notAfter);
            return new Certified(holder.toASN1Structure(), notAfter);
        } catch (IOException e) {
            throw new IllegalStateException("the OCSP responder certificate cannot be encoded", e);
        }
    }

    private static byte[] keyBits(CaSigner signer) {
        return SubjectPublicKeyInfo.getInstance(signer.publicKey().getEncoded()).getPublicKeyData().getBytes();
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is always available", e);
        }
    }

    /** Stops the responder key's signer. */
    @Override
    public void close() {
        signer.close();
    }
}
