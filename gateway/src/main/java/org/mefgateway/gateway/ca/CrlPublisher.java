package org.mefgateway.gateway.ca;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.mefgateway.gateway.store.IssuerKeyId;
import org.mefgateway.gateway.store.Revocation;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredCrl;
import org.mefgateway.hsm.CaSigner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CRL of one CA key (RFC 5280 5): every revoked, unexpired certificate that key signed, signed
 * by that key on the HSM, with a CRL number one above the newest stored for it. Regenerated after
 * each revocation (again and again while the key cannot sign: see {@link #missing}) and on a
 * schedule; the newest one in the store is what every node publishes. Blocking: run on a worker.
 */
public final class CrlPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(CrlPublisher.class);
    private static final int ATTEMPTS = 5;

    private final String keyName;
    private final String issuerKeyId;
    private final CaSigner signer;
    private final Store store;
    private final Duration validity;
    private final Clock clock;
    private final JcaX509CertificateHolder issuer;
    /** The newest CRL this node has signed or seen in the store: what it publishes. */
    private final AtomicReference<StoredCrl> newest = new AtomicReference<>();
    /** The serials the newest CRL lists, read from it once per CRL. */
    private final AtomicReference<Listed> listed = new AtomicReference<>();
    /** Revocations the newest CRL misses, as last counted: the gauge. */
    private volatile int pending;

    private record Listed(long number, Set<String> serials) {
    }

    public CrlPublisher(CaSigner signer, Store store, Duration validity, Clock clock) {
        this.keyName = signer.name();
        this.issuerKeyId = IssuerKeyId.of(signer.publicKey());
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

    /** The CA key's name in the configuration. */
    public String keyName() {
        return keyName;
    }

    /** Signs and stores a new CRL from the ledger as it is now. */
    public StoredCrl regenerate() {
        for (int attempt = 1; ; attempt++) {
            Optional<StoredCrl> latest = store.latestCrl(keyName);
            long number = latest.map(c -> c.number() + 1).orElse(1L);
            // Whole seconds: CRL times are UTCTime/GeneralizedTime without fractions (RFC 5280 5.1.2.4).
            Instant thisUpdate = clock.instant().truncatedTo(ChronoUnit.SECONDS);
            Instant nextUpdate = thisUpdate.plus(validity);
            List<Revocation> revoked = store.revocationsUnexpiredAt(thisUpdate, issuerKeyId);
            StoredCrl crl = new StoredCrl(number, thisUpdate, nextUpdate, sign(number, thisUpdate, nextUpdate, revoked));
            if (store.saveCrl(keyName, crl)) {
                newest.set(crl);
                listed.set(new Listed(number, revoked.stream().map(Revocation::serialHex).collect(Collectors.toSet())));
                // A revocation committed after the read above is counted by the next look at missing().
                pending = 0;
                LOG.info("CRL {} of CA key '{}' signed: {} revoked certificates, next update {}", number, keyName, revoked.size(), nextUpdate);
                return crl;
            }
            // Another node stored this number first: sign again above it.
            if (attempt == ATTEMPTS) {
                throw new IllegalStateException("CRL number " + number + " of CA key '" + keyName + "' kept being taken by other nodes");
            }
        }
    }

    /** True when no CRL exists yet or the newest is older than {@code refresh}. */
    public boolean due(Duration refresh) {
        Optional<StoredCrl> latest = store.latestCrl(keyName);
        latest.ifPresent(newest::set);
        return latest.map(c -> !c.thisUpdate().plus(refresh).isAfter(clock.instant())).orElse(true);
    }

    /**
     * The serials of this key's revoked, unexpired certificates that the newest CRL (whichever
     * node signed it) does not list: revocations whose re-signing failed (the HSM was down, the
     * node stopped) or is still under way. Also what {@code mef_crl_revocations_pending} shows.
     */
    public Set<String> missing() {
        Optional<StoredCrl> latest = store.latestCrl(keyName);
        latest.ifPresent(newest::set);
        Set<String> inCrl = latest.map(this::serialsIn).orElse(Set.of());
        Set<String> missing = new TreeSet<>();
        for (Revocation r : store.revocationsUnexpiredAt(clock.instant(), issuerKeyId)) {
            if (!inCrl.contains(r.serialHex())) {
                missing.add(r.serialHex());
            }
        }
        pending = missing.size();
        return missing;
    }

    private Set<String> serialsIn(StoredCrl crl) {
        Listed known = listed.get();
        if (known != null && known.number() == crl.number()) {
            return known.serials();
        }
        try {
            Set<String> serials = new HashSet<>();
            X509CRLHolder holder = new X509CRLHolder(crl.der());
            for (Object entry : holder.getRevokedCertificates()) {
                serials.add(((org.bouncycastle.cert.X509CRLEntryHolder) entry).getSerialNumber().toString(16));
            }
            listed.set(new Listed(crl.number(), serials));
            return serials;
        } catch (IOException e) {
            throw new IllegalStateException("stored CRL " + crl.number() + " of CA key '" + keyName + "' cannot be read", e);
        }
    }

    /**
     * Per CA key ({@code key}): {@code mef_crl_this_update_seconds} and
     * {@code mef_crl_next_update_seconds}, the times of the newest CRL this node published or found
     * in the store (checked every minute, so a CRL another node signed shows within a minute), in
     * seconds since the epoch, NaN before the first one — a relying party refuses a CRL past its
     * nextUpdate, so that is what to alert on; and {@code mef_crl_revocations_pending}, the
     * revocations the newest CRL does not list yet (counted after each revocation, each CRL and
     * every minute): above 0 for more than a few seconds, CRL users and OCSP users see different truths.
     */
    public void registerMeters(MeterRegistry meters) {
        Gauge.builder("mef.crl.this.update", () -> epochSeconds(StoredCrl::thisUpdate))
                .description("thisUpdate of the newest CRL published, in seconds since the epoch")
                .tag("key", keyName)
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder("mef.crl.next.update", () -> epochSeconds(StoredCrl::nextUpdate))
                .description("nextUpdate of the newest CRL published, in seconds since the epoch; relying parties reject it after that")
                .tag("key", keyName)
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder("mef.crl.revocations.pending", () -> pending)
                .description("revoked, unexpired certificates of the CA key that the newest CRL does not list yet")
                .tag("key", keyName)
                .register(meters);
    }

    private double epochSeconds(Function<StoredCrl, Instant> time) {
        StoredCrl crl = newest.get();
        return crl == null ? Double.NaN : time.apply(crl).getEpochSecond();
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
