package org.mefgateway.gateway.scep;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.mefgateway.gateway.Responses;
import org.mefgateway.gateway.Routes;
import org.mefgateway.gateway.core.Caller;
import org.mefgateway.gateway.core.EnrolmentCore;
import org.mefgateway.gateway.core.EnrolmentRequest;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.FailureOutcomes;
import org.mefgateway.gateway.core.Operation;
import org.mefgateway.gateway.core.OperationException;
import org.mefgateway.gateway.core.Outcome;
import org.mefgateway.gateway.core.PolicyDirectory;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.RaKey;

/**
 * The SCEP protocol front end (RFC 8894; oneM2M TS-0003 8.3.6.3, certProvProtocolID 2) on the
 * publication listener: plain HTTP, since CMS protects the messages. It reads and writes SCEP
 * messages and answers the core's outcomes as CertRep; what to issue is the
 * {@link EnrolmentCore}'s business, exactly as for EST.
 *
 * <p>Who asks: a PKCSReq is signed with a self-signed certificate of the device's new key, so the
 * Enrolee is the one its CSR's challengePassword was issued to; a RenewalReq is signed with a
 * certificate this CA issued, which authenticates it as for an EST re-enrolment. Requests are
 * served by the profile of label {@value #LABEL} when the policy directory has one, else by the
 * default profile.
 *
 * <p>A request held for approval is answered PENDING; the client polls it with CertPoll (RFC 8894
 * 3.3.3) and is answered from the held request ({@link PendingTransactions}).
 *
 * <p>Token work (decrypting the envelope, signing CertRep) runs on {@code raWorkers}, CMS parsing
 * on them too; nothing blocks the event loop.
 */
public final class ScepApi {
    /** The profile label SCEP requests are served by, when a profile of that name exists. */
    public static final String LABEL = "scep";
    /**
     * Longest pkiMessage POSTed: an RSA-4096 PKCSReq is about 5 KiB. A GET-encoded one is bounded
     * by the listener's request line (est.limits.maxInitialLineBytes, 4 KiB: 414 beyond), enough
     * for an RSA-2048 PKCSReq; clients POST when GetCACaps says POSTPKIOperation (RFC 8894 3.5.2).
     */
    static final int MAX_MESSAGE_BYTES = 64 * 1024;
    /** RFC 8894 3.5.2: what this server does; no DES, MD5 or SHA-1. */
    static final List<String> CAPABILITIES = List.of("POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal");
    /** The same with the operator's legacy switch on: also 3DES and SHA-1 (never single DES or MD5). */
    static final List<String> LEGACY_CAPABILITIES = List.of("POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard",
            "Renewal", "DES3", "SHA-1");

    private final EnrolmentCore core;
    private final PolicyDirectory policies;
    private final RaKey ra;
    private final WorkerExecutor raWorkers;
    private final Buffer caRaCertificates;
    private final PendingTransactions pending;
    private final LedgerQueries ledger;
    private final Clock clock;
    private final Duration maxClockSkew;
    private final SenderNonces nonces;
    private final boolean legacyAlgorithms;
    private final String path;
    private final ScepAdmission admission;
    private final ScepMetrics metrics;

    /**
     * {@code caKey} and {@code caChain}: the CA key that certified the RA key (the one SCEP issues
     * with) and its chain; {@code store} on
     * {@code storeWorkers}: where held transactions are found again (CertPoll), certificates and
     * the CRL read (GetCert, GetCRL); {@code config}: the path, the signingTime skew (also how
     * long a senderNonce is remembered) and the legacy switch; {@code admission} and
     * {@code metrics}: one each per gateway, shared by the listeners SCEP is served on.
     */
    public ScepApi(EnrolmentCore core, PolicyDirectory policies, RaKey ra, String caKey, List<X509Certificate> caChain, WorkerExecutor raWorkers,
                   Store store, WorkerExecutor storeWorkers, Clock clock, ScepConfig config, ScepAdmission admission, ScepMetrics metrics) {
        this.core = core;
        this.policies = policies;
        this.ra = ra;
        this.raWorkers = raWorkers;
        this.caRaCertificates = Buffer.buffer(ScepWire.caRaCertificates(ra.certificate(), caChain));
        this.pending = new PendingTransactions(store, storeWorkers, clock);
        this.ledger = new LedgerQueries(store, storeWorkers, caKey, caChain.get(0));
        this.clock = clock;
        this.maxClockSkew = config.maxClockSkew();
        this.nonces = new SenderNonces(maxClockSkew);
        this.legacyAlgorithms = config.legacyAlgorithms();
        this.path = config.path();
        this.admission = admission;
        this.metrics = metrics;
    }

    /**
     * Adds the SCEP routes at the configured path to a listener's router: counted and timed first,
     * then admission (the client's rate at the head; the in-flight bound for a POST once its
     * bounded body is read, for a GET at once), before any CMS is parsed.
     */
    public void install(Router router, Routes routes) {
        router.route(path).handler(metrics::handle);
        routes.get(path).handler(admission::perClient).handler(admission::inFlight).handler(this::get);
        routes.post(path).handler(admission::perClient);
        // Separate routes: Vert.x Web allows no handler before a BodyHandler within one route.
        routes.post(path).handler(BodyHandler.create(false).setBodyLimit(MAX_MESSAGE_BYTES)).handler(admission::inFlight).handler(this::post);
    }

    /** RFC 8894 4.1: the operation is a query parameter; GetCACaps, GetCACert and PKIOperation by GET. */
    private void get(RoutingContext ctx) {
        String operation = ctx.request().getParam("operation");
        if ("GetCACaps".equals(operation)) {
            // RFC 8894 3.5.2: one keyword a line.
            Responses.end(ctx.response(), "text/plain; charset=us-ascii", String.join("\n", legacyAlgorithms ? LEGACY_CAPABILITIES : CAPABILITIES) + "\n");
        } else if ("GetCACert".equals(operation)) {
            Responses.end(ctx.response(), ScepWire.CA_RA_CERT, caRaCertificates);
        } else if ("PKIOperation".equals(operation)) {
            String message = ctx.request().getParam("message");
            if (message == null || message.isEmpty()) {
                ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "PKIOperation by GET needs the base64 pkiMessage in 'message' (RFC 8894 4.1)"));
                return;
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(message);
            } catch (IllegalArgumentException e) {
                ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "the 'message' parameter is not base64: " + e.getMessage()));
                return;
            }
            pkiOperation(ctx, der);
        } else {
            ctx.fail(unknownOperation(operation));
        }
    }

    /** RFC 8894 4.1 (POSTPKIOperation): PKIOperation with the DER pkiMessage as the body. */
    private void post(RoutingContext ctx) {
        String operation = ctx.request().getParam("operation");
        if (!"PKIOperation".equals(operation)) {
            ctx.fail(unknownOperation(operation));
            return;
        }
        pkiOperation(ctx, ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes());
    }

    private static OperationException unknownOperation(String operation) {
        return OperationException.of(ErrorCode.BAD_REQUEST, (operation == null ? "no operation" : "unknown operation '" + operation + "'")
                + ": GetCACaps, GetCACert or PKIOperation (RFC 8894 4)");
    }

    /**
     * RFC 8894 3.3: a PKCSReq, RenewalReq, CertPoll, GetCert or GetCRL, answered with a CertRep. A body that is no signed SCEP
     * message is a 400 (there is nobody to answer); a signed message that cannot be served gets a
     * CertRep FAILURE; an issued certificate only ever goes out enveloped to the requester.
     */
    private void pkiOperation(RoutingContext ctx, byte[] der) {
        raWorkers.executeBlocking(() -> ScepWire.read(der), false).onSuccess(request -> {
            ScepMetrics.messageType(ctx, request.type());
            serve(request).recover(ScepApi::refusal)
                    .compose(reply -> {
                        ScepMetrics.certRep(ctx, reply);
                        return raWorkers.executeBlocking(() -> ScepWire.certRep(ra, request, reply), false);
                    })
                    .onSuccess(certRep -> {
                        if (!ctx.response().ended()) {
                            Responses.end(ctx.response(), ScepWire.PKI_MESSAGE, Buffer.buffer(certRep));
                        }
                    })
                    .onFailure(failure -> ctx.fail(unavailableOr(failure)));
        }).onFailure(ctx::fail);
    }

    /**
     * The HSM (the RA key decrypting or signing CertRep, or the CA key) or the store unable to
     * serve now: 503 + Retry-After as on every listener, and no CertRep, since it is not the
     * client's fault. Anything else stays as it is.
     */
    private static Throwable unavailableOr(Throwable failure) {
        Optional<Outcome> outcome = FailureOutcomes.of(failure);
        if (outcome.isPresent() && outcome.get() instanceof Outcome.Unavailable unavailable) {
            return OperationException.unavailable(unavailable.reason(), unavailable.retryAfter());
        }
        return failure;
    }

    /**
     * The checks of RFC 8894 3.2 in order (signingTime, signature, algorithms, nonce, type,
     * envelope), then the core. All come before the core: a message refused here spends nothing.
     * The signingTime comes first: verifying the signature also requires the signer certificate
     * to be valid at the signingTime (Bouncy Castle's SignerInformation.verify), so a stale time
     * would otherwise read as a bad signature; a FAILURE reveals nothing either way.
     */
    private Future<ScepWire.Reply> serve(PkiMessage request) {
        Instant now = clock.instant();
        try {
            Optional<Instant> signingTime = ScepWire.signingTime(request);
            if (signingTime.isPresent() && Duration.between(signingTime.get(), now).abs().compareTo(maxClockSkew) > 0) {
                // RFC 8894 3.2.1.4.5 badTime: the signingTime is not sufficiently close to the system time.
                throw new ScepFailure(FailInfo.BAD_TIME, "the signingTime " + signingTime.get() + " is more than "
                        + maxClockSkew.toSeconds() + " s from the MEF's time " + now);
            }
            if (!request.signatureVerifies()) {
                throw new ScepFailure(FailInfo.BAD_MESSAGE_CHECK, "the pkiMessage signature does not verify");
            }
            ScepWire.checkDigest(request, legacyAlgorithms);
        } catch (ScepFailure f) {
            return Future.failedFuture(f);
        }
        if (!nonces.accept(request.senderNonce(), request.transactionId(), PendingTransactions.keyOf(request.signer()), now)) {
            // RFC 8894 3.2.1.5: the senderNonce protects against replay; the same message again in its own
            // transaction from its own key is a retransmission, answered as the first (redelivery, CertPoll).
            return Future.failedFuture(new ScepFailure(FailInfo.BAD_REQUEST, "replayed: this senderNonce came in another transaction "
                    + "or from another key within the last " + maxClockSkew.toSeconds() + " s"));
        }
        Optional<MessageType> type = request.type();
        if (type.isEmpty() || type.get() == MessageType.CERT_REP) {
            return Future.failedFuture(new ScepFailure(FailInfo.BAD_REQUEST, "only PKCSReq, RenewalReq, CertPoll, GetCert and GetCRL are served"));
        }
        if (!(request.signer().getPublicKey() instanceof RSAPublicKey)) {
            // The issued certificate is enveloped to the signer certificate by RSA key transport (RFC 8894 3.2.2).
            return Future.failedFuture(new ScepFailure(FailInfo.BAD_ALG, "the signer certificate's key must be RSA"));
        }
        Future<byte[]> content = raWorkers.executeBlocking(() -> {
            try {
                return ra.decrypt(ScepWire.envelope(request, legacyAlgorithms));
            } catch (CMSException e) {
                throw new ScepFailure(FailInfo.BAD_MESSAGE_CHECK, "the pkcsPKIEnvelope does not decrypt with the RA key: " + e.getMessage());
            }
        }, false);
        if (type.get() == MessageType.GET_CERT) {
            return content.compose(wanted -> ledger.certificate(request.signer(), ScepWire.issuerAndSerialNumber(wanted)));
        }
        if (type.get() == MessageType.GET_CRL) {
            return content.compose(about -> ledger.crl(ScepWire.issuerAndSerialNumber(about)));
        }
        if (type.get() == MessageType.CERT_POLL) {
            return content.compose(issuerAndSubject -> {
                ScepWire.issuerAndSubject(issuerAndSubject);
                return pending.poll(request.signer(), request.transactionId());
            });
        }
        return content.compose(csr -> {
            boolean renewal = type.get() == MessageType.RENEWAL_REQ;
            PKCS10CertificationRequest pkcs10 = pkcs10(csr);
            Future<Caller> caller;
            if (renewal) {
                caller = core.authenticator().authenticate(Optional.of(request.signer()));
            } else {
                // RFC 8894 2.3: a PKCSReq is signed with a self-signed certificate of the CSR's own
                // key; that key is then what a CertPoll of this transaction is recognised by.
                if (!Arrays.equals(ScepWire.der(pkcs10.getSubjectPublicKeyInfo()), request.signer().getPublicKey().getEncoded())) {
                    throw new ScepFailure(FailInfo.BAD_REQUEST, "a PKCSReq is signed with the key of its CSR (RFC 8894 2.3), this one is not");
                }
                caller = core.authenticator().byChallenge(challengePassword(pkcs10));
            }
            String label = policies.forLabel(LABEL).isPresent() ? LABEL : "";
            return caller.compose(c -> core.pipeline().enrol(new EnrolmentRequest(c, label,
                    renewal ? Operation.REENROL : Operation.ENROL, () -> csr, Optional.empty())));
        }).compose(outcome -> reply(request, outcome));
    }

    private static PKCS10CertificationRequest pkcs10(byte[] csr) {
        try {
            return new PKCS10CertificationRequest(csr);
        } catch (Exception e) {
            throw new ScepFailure(FailInfo.BAD_REQUEST, "the pkcsPKIEnvelope does not hold a PKCS#10 request");
        }
    }

    /** RFC 8894 2.5: the challengePassword of the PKCS#10 inside the envelope. */
    private static String challengePassword(PKCS10CertificationRequest csr) {
        for (Attribute a : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
            ASN1Encodable value = a.getAttrValues().size() == 1 ? a.getAttrValues().getObjectAt(0) : null;
            if (value instanceof ASN1String s) {
                return s.getString();
            }
        }
        throw new ScepFailure(FailInfo.BAD_REQUEST, "a PKCSReq needs the challengePassword the operator was given (RFC 8894 2.5)");
    }

    /**
     * The one place an enrolment's outcome becomes a CertRep status. A held request is recorded
     * under the signer's key and transactionID first, for the CertPoll that follows PENDING.
     */
    private Future<ScepWire.Reply> reply(PkiMessage request, Outcome outcome) {
        if (outcome instanceof Outcome.Issued issued) {
            return Future.succeededFuture(new ScepWire.Reply.Issued(issued.certificate()));
        } else if (outcome instanceof Outcome.Held held) {
            return pending.held(request.signer(), request.transactionId(), held.requestId()).map(v -> new ScepWire.Reply.Pending());
        } else if (outcome instanceof Outcome.Refused refused) {
            return Future.failedFuture(refused.exception());
        }
        Outcome.Unavailable unavailable = (Outcome.Unavailable) outcome;
        return Future.failedFuture(OperationException.unavailable(unavailable.reason(), unavailable.retryAfter()));
    }

    /**
     * A FAILURE for a refusal (RFC 8894 3.2.1.4.5): a CSR without proof of possession is a failed
     * integrity check; any other refusal (unknown challenge, policy) a badRequest. The MEF being
     * unable to serve now is not the client's fault: HTTP 503 with Retry-After, as on every
     * listener, and anything else an internal error.
     */
    private static Future<ScepWire.Reply> refusal(Throwable failure) {
        Throwable cause = FailureOutcomes.unwrap(failure);
        if (cause instanceof ScepFailure f) {
            return Future.succeededFuture(new ScepWire.Reply.Failed(f.failInfo()));
        }
        if (cause instanceof OperationException o && o.code() != ErrorCode.UNAVAILABLE) {
            return Future.succeededFuture(new ScepWire.Reply.Failed(o.code() == ErrorCode.BAD_POP ? FailInfo.BAD_MESSAGE_CHECK : FailInfo.BAD_REQUEST));
        }
        // A store that cannot serve a CertPoll now is the MEF's trouble, answered as the core answers it.
        Optional<Outcome> outcome = FailureOutcomes.of(cause);
        if (outcome.isPresent() && outcome.get() instanceof Outcome.Unavailable u) {
            return Future.failedFuture(OperationException.unavailable(u.reason(), u.retryAfter()));
        }
        return Future.failedFuture(cause);
    }
}
