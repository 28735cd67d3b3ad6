package org.mefgateway.gateway.ca;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.ocsp.BasicOCSPResponse;
import org.bouncycastle.asn1.ocsp.CertID;
import org.bouncycastle.asn1.ocsp.CertStatus;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.OCSPRequest;
import org.bouncycastle.asn1.ocsp.OCSPResponse;
import org.bouncycastle.asn1.ocsp.OCSPResponseStatus;
import org.bouncycastle.asn1.ocsp.Request;
import org.bouncycastle.asn1.ocsp.ResponseBytes;
import org.bouncycastle.asn1.ocsp.ResponseData;
import org.bouncycastle.asn1.ocsp.RevokedInfo;
import org.bouncycastle.asn1.ocsp.SingleResponse;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.Extensions;
import org.mefgateway.gateway.store.CertificateStatus;
import org.mefgateway.gateway.store.Store;

/**
 * The OCSP responder (RFC 6960) for every CA key, in the RFC 5019 profile, built so that no
 * anonymous request costs CA-key work and a flood of requests costs O(1) signatures:
 *
 * <ul>
 * <li>Each CA key has a delegated responder ({@link DelegatedResponder}); the CA key signs only its
 * certificate, once per renewal.</li>
 * <li>Every request reads the ledger (one indexed query), so a revocation on any node is answered
 * at once; a response signed for the same certificate, CertID form and status within
 * {@link #REFRESH} is served again as it is. Only a new status, an older response or a first
 * request signs, once for all requests waiting on it.</li>
 * <li>Nonces are ignored (RFC 5019 2.1.1, RFC 8954 allows it), so one response serves everyone;
 * each is valid for {@link #VALIDITY} (nextUpdate) and HTTP caches may keep it until it would be
 * refreshed (the publication listener's Cache-Control).</li>
 * <li>What has no answer worth a signature gets an unsigned status, which costs nothing: a
 * certificate of another issuer or a serial none of our keys issued {@code unauthorized} (RFC 5019
 * 2.2.3: the responder has no authoritative record to sign for it), anything but one DER request
 * for one certificate {@code malformedRequest} (RFC 5019 2.1.1: one certificate per request).</li>
 * <li>When a response must be signed and cannot be (the HSM is down or busy), a response for the
 * same status that is still within its nextUpdate is served; without one, 503 + Retry-After.</li>
 * </ul>
 */
public final class OcspResponder {
    /** nextUpdate - thisUpdate of a response. */
    static final Duration VALIDITY = Duration.ofHours(1);
    /**
     * A response this old is signed again on the next request for it: the longest an HTTP cache
     * (max-age) or this responder keeps serving it while the HSM works.
     */
    static final Duration REFRESH = Duration.ofMinutes(10);
    private static final DateTimeFormatter GENERALIZED_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);

    /** What an answer was, for {@code mef_ocsp_responses_total{answer}}. */
    enum Kind { GOOD, REVOKED, UNAUTHORIZED, MALFORMED, UNAVAILABLE }

    /**
     * One answer: the DER OCSPResponse, and for a signed one the times HTTP caching headers are
     * made of (RFC 5019 6.2); {@code maxAge} is what is left until the responder would sign it again.
     */
    public record Answer(byte[] der, Optional<Validity> validity) {
    }

    public record Validity(Instant thisUpdate, Instant nextUpdate, Duration maxAge) {
    }

    /** What a signed response answers for: its CA key, the CertID's hash algorithm and form, the serial. */
    private record CertKey(String caKey, ASN1ObjectIdentifier hash, boolean nullParameters, BigInteger serial) {
    }

    /** A signed response and what it says. */
    private record Signed(byte[] der, CertificateStatus status, Instant thisUpdate, Instant nextUpdate) {
        boolean answers(CertificateStatus now) {
            return status.equals(now);
        }
    }

    /** The newest response for one CertKey, and the signature under way for it, if any. */
    private static final class Slot {
        Signed signed;
        CompletableFuture<Signed> signing;
        CertificateStatus signingFor;
    }

    private static final byte[] MALFORMED = unsigned(OCSPResponseStatus.MALFORMED_REQUEST);
    private static final byte[] UNAUTHORIZED = unsigned(OCSPResponseStatus.UNAUTHORIZED);

    private final List<DelegatedResponder> responders;
    private final Store store;
    private final Clock clock;
    private final Map<CertKey, Slot> slots = new ConcurrentHashMap<>();
    private final Map<Kind, Counter> answers = new EnumMap<>(Kind.class);

    public OcspResponder(List<DelegatedResponder> responders, Store store, Clock clock, MeterRegistry meters) {
        this.responders = List.copyOf(responders);
        this.store = store;
        this.clock = clock;
        for (Kind kind : Kind.values()) {
            answers.put(kind, Counter.builder("mef.ocsp.responses")
                    .description("OCSP answers by what they said (unavailable: 503, nothing valid to serve)")
                    .tag("answer", kind.name().toLowerCase(java.util.Locale.ROOT))
                    .register(meters));
        }
    }

    /**
     * The answer to a DER OCSPRequest. Blocking (it reads the ledger): run on a worker; the
     * signature, when one is needed, completes the stage on the HSM's pool. Completes exceptionally
     * with the signer's failure ({@code HsmBusyException}, {@code HsmUnavailableException}) when a
     * response must be signed, cannot be, and none is valid.
     */
    public CompletionStage<Answer> respond(byte[] requestDer) {
        CertID id;
        try {
            ASN1Sequence list = OCSPRequest.getInstance(ASN1Primitive.fromByteArray(requestDer)).getTbsRequest().getRequestList();
            if (list.size() != 1) {
                return unsigned(Kind.MALFORMED, MALFORMED);
            }
            id = Request.getInstance(list.getObjectAt(0)).getReqCert();
            id.getSerialNumber().getValue();  // parsed now, so that a broken one is malformed here
        } catch (IOException | RuntimeException e) {
            return unsigned(Kind.MALFORMED, MALFORMED);
        }
        ASN1Encodable parameters = id.getHashAlgorithm().getParameters();
        if (parameters != null && !DERNull.INSTANCE.equals(parameters)) {
            return unsigned(Kind.MALFORMED, MALFORMED);
        }
        ASN1ObjectIdentifier hash = id.getHashAlgorithm().getAlgorithm();
        Optional<DelegatedResponder> responder = responders.stream()
                .filter(r -> r.issued(hash, id.getIssuerNameHash().getOctets(), id.getIssuerKeyHash().getOctets())).findFirst();
        BigInteger serial = id.getSerialNumber().getValue();
        if (responder.isEmpty() || serial.signum() <= 0) {
            return unsigned(Kind.UNAUTHORIZED, UNAUTHORIZED);
        }
        CertificateStatus status = store.certificateStatus(serial.toString(16), responder.get().issuerKeyId());
        if (status instanceof CertificateStatus.Unknown) {
            return unsigned(Kind.UNAUTHORIZED, UNAUTHORIZED);
        }
        CertKey key = new CertKey(responder.get().caKey(), hash, parameters != null, serial);
        Instant now = clock.instant();
        return signed(key, responder.get(), status, now).handle((signed, error) -> {
            if (error != null) {
                answers.get(Kind.UNAVAILABLE).increment();
                throw error instanceof CompletionException c ? c : new CompletionException(error);
            }
            answers.get(status instanceof CertificateStatus.Revoked ? Kind.REVOKED : Kind.GOOD).increment();
            Duration maxAge = Duration.between(now, signed.thisUpdate().plus(REFRESH));
            return new Answer(signed.der(), Optional.of(new Validity(signed.thisUpdate(), signed.nextUpdate(),
                    maxAge.isNegative() ? Duration.ZERO : maxAge)));
        });
    }

    /**
     * A response for {@code key} saying {@code status}: the newest one if it says that and is
     * younger than {@link #REFRESH}, else one signed now — one signature for all requests that
     * arrive while it is being made. If signing fails, a response saying {@code status} that is
     * still valid is served.
     */
    private CompletionStage<Signed> signed(CertKey key, DelegatedResponder responder, CertificateStatus status, Instant now) {
        Slot slot = slots.computeIfAbsent(key, k -> new Slot());
        CompletableFuture<Signed> pending;
        synchronized (slot) {
            Signed newest = slot.signed;
            if (newest != null && newest.answers(status) && now.isBefore(newest.thisUpdate().plus(REFRESH))) {
                return CompletableFuture.completedFuture(newest);
            }
            pending = slot.signing;
            if (pending == null || !slot.signingFor.equals(status)) {
                CompletableFuture<Signed> mine = sign(key, responder, status, now);
                slot.signing = mine;
                slot.signingFor = status;
                pending = mine;
                mine.whenComplete((signed, error) -> {
                    synchronized (slot) {
                        if (signed != null && (slot.signed == null || !signed.thisUpdate().isBefore(slot.signed.thisUpdate()))) {
                            slot.signed = signed;
                        }
                        if (slot.signing == mine) {
                            slot.signing = null;
                        }
                    }
                });
            }
        }
        return pending.handle((signed, error) -> {
            if (error == null) {
                return signed;
            }
            synchronized (slot) {
                Signed newest = slot.signed;
                if (newest != null && newest.answers(status) && now.isBefore(newest.nextUpdate())) {
                    return newest;
                }
            }
            throw error instanceof CompletionException c ? c : new CompletionException(error);
        });
    }

    private CompletableFuture<Signed> sign(CertKey key, DelegatedResponder responder, CertificateStatus status, Instant now) {
        DelegatedResponder.Certified certificate;
        try {
            certificate = responder.certificate();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        DelegatedResponder.IssuerHashes issuer = responder.issuerHashes(key.hash()).orElseThrow();
        Instant thisUpdate = now.truncatedTo(ChronoUnit.SECONDS);
        Instant nextUpdate = thisUpdate.plus(VALIDITY).isAfter(certificate.notAfter()) ? certificate.notAfter() : thisUpdate.plus(VALIDITY);
        CertID certId = new CertID(new AlgorithmIdentifier(key.hash(), key.nullParameters() ? DERNull.INSTANCE : null),
                new DEROctetString(issuer.name()), new DEROctetString(issuer.key()), new ASN1Integer(key.serial()));
        SingleResponse single = new SingleResponse(certId, certStatus(status), time(thisUpdate), time(nextUpdate), (Extensions) null);
        ResponseData data = new ResponseData(responder.responderId(), time(thisUpdate), new DERSequence(single), (Extensions) null);
        byte[] tbs;
        try {
            tbs = data.getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return responder.sign(tbs).thenApply(signature -> new Signed(encode(data, responder.signatureAlgorithm(), signature,
                certificate), status, thisUpdate, nextUpdate)).toCompletableFuture();
    }

    /** Forgets responses past their nextUpdate (the minute check), so memory follows what is being asked. */
    public void forgetExpired() {
        Instant now = clock.instant();
        slots.entrySet().removeIf(e -> {
            synchronized (e.getValue()) {
                Signed s = e.getValue().signed;
                return e.getValue().signing == null && (s == null || !now.isBefore(s.nextUpdate()));
            }
        });
    }

    /** The responders, one per CA key. */
    public List<DelegatedResponder> responders() {
        return responders;
    }

    private static CertStatus certStatus(CertificateStatus status) {
        if (status instanceof CertificateStatus.Revoked revoked) {
            return new CertStatus(new RevokedInfo(time(revoked.revocation().revokedAt().truncatedTo(ChronoUnit.SECONDS)),
                    CRLReason.lookup(revoked.revocation().reason().code())));
        }
        return new CertStatus();
    }

    private static byte[] encode(ResponseData data, AlgorithmIdentifier algorithm, byte[] signature,
                                 DelegatedResponder.Certified certificate) {
        try {
            // RFC 6960 4.2.2.2: the responder's certificate goes with the response, so that relying
            // parties can check it was issued by the CA for OCSP signing.
            BasicOCSPResponse basic = new BasicOCSPResponse(data, algorithm, new DERBitString(signature),
                    new DERSequence(certificate.certificate()));
            return new OCSPResponse(new OCSPResponseStatus(OCSPResponseStatus.SUCCESSFUL),
                    new ResponseBytes(OCSPObjectIdentifiers.id_pkix_ocsp_basic, new DEROctetString(basic.getEncoded(ASN1Encoding.DER))))
                    .getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("the OCSP response cannot be encoded", e);
        }
    }

    /** GeneralizedTime to the second, without fractions (RFC 5280 4.1.2.5.2, as RFC 6960 uses it). */
    private static ASN1GeneralizedTime time(Instant instant) {
        return new ASN1GeneralizedTime(GENERALIZED_TIME.format(instant));
    }

    private CompletionStage<Answer> unsigned(Kind kind, byte[] der) {
        answers.get(kind).increment();
        return CompletableFuture.completedFuture(new Answer(der, Optional.empty()));
    }

    private static byte[] unsigned(int status) {
        try {
            return new OCSPResponse(new OCSPResponseStatus(status), null).getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new IllegalStateException("an OCSP error response cannot be encoded", e);
        }
    }
}
