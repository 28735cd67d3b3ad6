package org.mefgateway.gateway.ca;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.mefgateway.gateway.store.CertificateStatus;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.CaSigner;

/**
 * The OCSP responder (RFC 6960), answering from the ledger as it is at the moment of the request
 * (so a revocation on any node is visible at once) and signing with the CA key on the HSM: the
 * CA is its own responder, no delegated certificate is needed. Blocking: run on a worker.
 */
public final class OcspResponder {
    /** More than this many certificates in one request is refused as malformed. */
    static final int MAX_REQUESTS = 20;

    private final CaSigner signer;
    private final Store store;
    private final Clock clock;
    private final X509CertificateHolder issuer;
    private final DigestCalculatorProvider digests;
    private final RespID responderId;

    public OcspResponder(CaSigner signer, Store store, Clock clock) {
        this.signer = signer;
        this.store = store;
        this.clock = clock;
        try {
            this.issuer = new JcaX509CertificateHolder(signer.certificate());
            this.digests = new JcaDigestCalculatorProviderBuilder().build();
            // RFC 6960 4.2.1: byKey, the SHA-1 of the responder's public key.
            this.responderId = new RespID(issuer.getSubjectPublicKeyInfo(), digests.get(CertificateID.HASH_SHA1));
        } catch (CertificateEncodingException | OperatorCreationException | OCSPException e) {
            throw new IllegalStateException("cannot set up the OCSP responder for the CA certificate", e);
        }
    }

    /** The DER OCSPResponse for a DER OCSPRequest; a request that cannot be parsed gets malformedRequest. */
    public byte[] respond(byte[] requestDer) {
        OCSPReq request;
        try {
            request = new OCSPReq(requestDer);
        } catch (IOException | RuntimeException e) {
            return status(OCSPRespBuilder.MALFORMED_REQUEST);
        }
        Req[] certs = request.getRequestList();
        if (certs.length == 0 || certs.length > MAX_REQUESTS) {
            return status(OCSPRespBuilder.MALFORMED_REQUEST);
        }
        Date now = Date.from(clock.instant().truncatedTo(ChronoUnit.SECONDS));
        BasicOCSPRespBuilder builder = new BasicOCSPRespBuilder(responderId);
        for (Req req : certs) {
            CertificateID id = req.getCertID();
            builder.addResponse(id, statusOf(id), now, null, null);
        }
        // RFC 6960 4.4.1 / RFC 8954: echo the nonce so the client can match the answer to its request.
        Extension nonce = request.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
        if (nonce != null) {
            builder.setResponseExtensions(new Extensions(nonce));
        }
        try {
            BasicOCSPResp basic = builder.build(new HsmContentSigner(signer), null, now);
            return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
        } catch (OCSPException | IOException e) {
            throw new IllegalStateException("the OCSP response cannot be encoded", e);
        }
    }

    private org.bouncycastle.cert.ocsp.CertificateStatus statusOf(CertificateID id) {
        try {
            if (!id.matchesIssuer(issuer, digests)) {
                return new UnknownStatus();  // not a certificate of this CA
            }
        } catch (OCSPException e) {
            return new UnknownStatus();  // a hash algorithm we do not know: we cannot say it is ours
        }
        CertificateStatus status = store.certificateStatus(id.getSerialNumber().toString(16));
        if (status instanceof CertificateStatus.Good) {
            return org.bouncycastle.cert.ocsp.CertificateStatus.GOOD;
        }
        if (status instanceof CertificateStatus.Revoked revoked) {
            return new RevokedStatus(Date.from(revoked.revocation().revokedAt().truncatedTo(ChronoUnit.SECONDS)),
                    revoked.revocation().reason().code());
        }
        return new UnknownStatus();
    }

    private static byte[] status(int status) {
        try {
            return new OCSPRespBuilder().build(status, null).getEncoded();
        } catch (OCSPException | IOException e) {
            throw new IllegalStateException("an OCSP error response cannot be encoded", e);
        }
    }
}
