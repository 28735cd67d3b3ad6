package org.mefgateway.gateway.ca;

import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.mefgateway.gateway.store.Revocation;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredCrl;
import org.mefgateway.hsm.CaSigner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's CRL (RFC 5280 5): every revoked, unexpired certificate in the ledger, signed by the CA
 * key on the HSM, with a CRL number one above the newest stored. Regenerated after each
 * revocation and on a schedule; the newest one in the store is what every node publishes.
 * Blocking: run on a worker.
 */
public final class CrlPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(CrlPublisher.class);
    private static final int ATTEMPTS = 5;

    private final CaSigner signer;
    private final Store store;
    private final Duration validity;
    private final Clock clock;
    private final JcaX509CertificateHolder issuer;

    public CrlPublisher(CaSigner signer, Store store, Duration validity, Clock clock) {
        this.signer = signer;
        this.store = store;
        this.validity = validity;
        this.clock = clock;
        try {
            this.issuer = new JcaX509CertificateHolder(signer.certificate());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("the CA certificate cannot be encoded", e);
        }
    }

    /** Signs and stores a new CRL from the ledger as it is now. */
    public StoredCrl regenerate() {
        for (int attempt = 1; ; attempt++) {
            Optional<StoredCrl> latest = store.latestCrl();
            long number = latest.map(c -> c.number() + 1).orElse(1L);
            // Whole seconds: CRL times are UTCTime/GeneralizedTime without fractions (RFC 5280 5.1.2.4).
            Instant thisUpdate = clock.instant().truncatedTo(ChronoUnit.SECONDS);
            Instant nextUpdate = thisUpdate.plus(validity);
            List<Revocation> revoked = store.revocationsUnexpiredAt(thisUpdate);
            StoredCrl crl = new StoredCrl(number, thisUpdate, nextUpdate, sign(number, thisUpdate, nextUpdate, revoked));
            if (store.saveCrl(crl)) {
                LOG.info("CRL {} signed: {} revoked certificates, next update {}", number, revoked.size(), nextUpdate);
                return crl;
            }
            // Another node stored this number first: sign again above it.
            if (attempt == ATTEMPTS) {
                throw new IllegalStateException("CRL number " + number + " kept being taken by other nodes");
            }
        }
    }

    /** True when no CRL exists yet or the newest is older than {@code refresh}. */
    public boolean due(Duration refresh) {
        return store.latestCrl().map(c -> !c.thisUpdate().plus(refresh).isAfter(clock.instant())).orElse(true);
    }

    private byte[] sign(long number, Instant thisUpdate, Instant nextUpdate, List<Revocation> revoked) {
        try {
            X509v2CRLBuilder builder = new X509v2CRLBuilder(issuer.getSubject(), Date.from(thisUpdate));
            builder.setNextUpdate(Date.from(nextUpdate));
            for (Revocation r : revoked) {
                builder.addCRLEntry(new BigInteger(r.serialHex(), 16), Date.from(r.revokedAt()), r.reason().code());
            }
            builder.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(number)));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(issuer.getSubjectPublicKeyInfo()));
            X509CRLHolder crl = builder.build(new HsmContentSigner(signer));
            return crl.getEncoded();
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the CRL cannot be encoded", e);
        }
    }
}
